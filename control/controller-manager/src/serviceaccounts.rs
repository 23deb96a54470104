//! ServiceAccounts and their tokens (kube's `serviceaccount` and legacy `tokens`
//! controllers): every Namespace gets a `default` ServiceAccount; every ServiceAccount gets a
//! token Secret (`<name>-token-<first 5 of its uid>`, type
//! `kubernetes.io/service-account-token`, owned by it so the collector removes it with it);
//! and a token Secret someone else created for an existing ServiceAccount gets its `token`,
//! `ca.crt` and `namespace` filled in. The API server authenticates such Secrets' tokens as
//! `system:serviceaccount:<namespace>:<name>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use rand::RngCore;
use serde_json::json;

use crate::context::{Ctx, drive};
use crate::error::Error;

/// The Secret type the API server authenticates as a service account.
pub(crate) const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotations naming the ServiceAccount of a token Secret.
const SA_NAME: &str = "kubernetes.io/service-account.name";
const SA_UID: &str = "kubernetes.io/service-account.uid";
/// The ServiceAccount every namespace gets.
const DEFAULT_SA: &str = "default";
/// The controllers' name in back-off and retry metrics (reconciles are counted apart).
const NAME: &str = "serviceaccount";

/// Runs the three controllers: namespaces, ServiceAccounts and token Secrets.
pub(crate) async fn controllers(ctx: Arc<Ctx>) {
    let client = ctx.client.clone();
    let metrics = ctx.metrics.clone();
    let config = Config::default().concurrency(ctx.config.concurrency);
    let namespaces = Controller::new(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<ServiceAccount>::all(client.clone()),
        watcher::Config::default(),
        |sa| {
            (sa.name_any() == DEFAULT_SA)
                .then(|| sa.namespace().map(|ns| ObjectRef::new(&ns)))
                .flatten()
        },
    )
    .with_config(config.clone())
    .run(default_account, error_policy, ctx.clone());
    let accounts = Controller::new(
        Api::<ServiceAccount>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<Secret>::all(client.clone()),
        watcher::Config::default(),
    )
    .with_config(config.clone())
    .run(account_token, error_policy, ctx.clone());
    let secrets = Controller::new(Api::<Secret>::all(client), watcher::Config::default())
        .with_config(config)
        .run(fill_token, error_policy, ctx);
    tokio::join!(
        drive(namespaces, "serviceaccount", &metrics),
        drive(accounts, "serviceaccount_token", &metrics),
        drive(secrets, "token_secret", &metrics),
    );
}

/// The back-off key of `obj`: `<kind>/<namespace>/<name>`.
fn key_of<K: kube::Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.meta().namespace.clone().unwrap_or_default(),
        obj.meta().name.clone().unwrap_or_default()
    )
}

fn error_policy<K: kube::Resource<DynamicType = ()>>(
    obj: Arc<K>,
    error: &Error,
    ctx: Arc<Ctx>,
) -> Action {
    ctx.backoff.next(NAME, key_of(obj.as_ref()), error)
}

/// Forgets the failures of `obj` once a reconcile of it succeeded.
fn settled<K: kube::Resource<DynamicType = ()>>(
    ctx: &Ctx,
    obj: &K,
    result: Result<Action, Error>,
) -> Result<Action, Error> {
    if result.is_ok() {
        ctx.backoff.reset(NAME, &key_of(obj));
    }
    result
}

async fn default_account(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy("serviceaccount");
    let result = ensure_default_account(&ns, &ctx).await;
    settled(&ctx, ns.as_ref(), result)
}

/// Publishes `kube-root-ca.crt` in a namespace that is not being deleted, then creates its
/// `default` ServiceAccount.
async fn ensure_default_account(ns: &Namespace, ctx: &Ctx) -> Result<Action, Error> {
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    crate::root_ca::publish(ns, ctx).await?;
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &ns.name_any());
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT_SA.into()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    match api.create(&PostParams::default(), &sa).await {
        Ok(_) => tracing::debug!("controller-manager: created {}/default", ns.name_any()),
        // Exists; or the namespace is being deleted (403) and its cache does not show it yet.
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
        Err(e) => {
            return Err(Error::api(
                "creating the default ServiceAccount of",
                ns.name_any(),
            )(e));
        }
    }
    Ok(Action::await_change())
}

/// The token Secret of `sa`: `<name>-token-<uid prefix>`.
fn token_name(sa: &ServiceAccount) -> String {
    let uid = sa.uid().unwrap_or_default();
    let prefix: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(5)
        .collect();
    format!("{}-token-{prefix}", sa.name_any())
}

async fn account_token(sa: Arc<ServiceAccount>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy("serviceaccount_token");
    let result = ensure_token_secret(&sa, &ctx).await;
    settled(&ctx, sa.as_ref(), result)
}

/// Makes sure `sa` has its token Secret, with a token.
async fn ensure_token_secret(sa: &ServiceAccount, ctx: &Ctx) -> Result<Action, Error> {
    if sa.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = sa.namespace().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let name = token_name(sa);
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "ServiceAccount".into(),
        name: sa.name_any(),
        uid: sa.uid().unwrap_or_default(),
        ..OwnerReference::default()
    };
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            annotations: Some(BTreeMap::from([
                (SA_NAME.into(), sa.name_any()),
                (SA_UID.into(), sa.uid().unwrap_or_default()),
            ])),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        type_: Some(TOKEN_TYPE.into()),
        data: Some(token_data(ctx, &ns)),
        ..Secret::default()
    };
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => tracing::debug!("controller-manager: created token Secret {ns}/{name}"),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
        Err(e) => return Err(Error::api("creating token Secret", name)(e)),
    }
    Ok(Action::await_change())
}

/// A new token (32 random bytes, hex), the cluster CA and the namespace.
fn token_data(ctx: &Ctx, namespace: &str) -> BTreeMap<String, ByteString> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut data = BTreeMap::from([
        (
            "token".to_string(),
            ByteString(hex::encode(bytes).into_bytes()),
        ),
        (
            "namespace".to_string(),
            ByteString(namespace.as_bytes().to_vec()),
        ),
    ]);
    if let Some(ca) = &ctx.config.root_ca {
        data.insert("ca.crt".into(), ByteString(ca.clone()));
    }
    data
}

async fn fill_token(secret: Arc<Secret>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let has_token = secret
        .data
        .as_ref()
        .is_some_and(|d| d.contains_key("token"));
    if secret.type_.as_deref() != Some(TOKEN_TYPE) || has_token {
        return Ok(Action::await_change());
    }
    let _busy = ctx.metrics.busy("token_secret");
    let result = fill_secret(&secret, &ctx).await;
    settled(&ctx, secret.as_ref(), result)
}

/// Fills the token of a token Secret that lacks one, if its ServiceAccount exists.
async fn fill_secret(secret: &Secret, ctx: &Ctx) -> Result<Action, Error> {
    let ns = secret.namespace().unwrap_or_default();
    let Some(sa_name) = secret.annotations().get(SA_NAME).cloned() else {
        return Ok(Action::await_change());
    };
    let sa = Api::<ServiceAccount>::namespaced(ctx.client.clone(), &ns)
        .get_opt(&sa_name)
        .await
        .map_err(Error::api("reading ServiceAccount", sa_name.clone()))?;
    let Some(sa) = sa else {
        return Ok(Action::await_change());
    };
    let data: BTreeMap<String, ByteString> = token_data(ctx, &ns);
    let patch = json!({
        "metadata": {
            "annotations": {SA_UID: sa.uid()},
            "resourceVersion": secret.resource_version(),
        },
        "data": data,
    });
    Api::<Secret>::namespaced(ctx.client.clone(), &ns)
        .patch(
            &secret.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(Error::api("filling the token of Secret", secret.name_any()))?;
    Ok(Action::await_change())
}
