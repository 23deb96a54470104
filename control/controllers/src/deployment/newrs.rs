//! The new ReplicaSet of a rollout (`getNewReplicaSet` when none matches the template):
//! named `<deployment>-<pod-template-hash>`, the hash in its selector and pod labels, the
//! next revision, and the Deployment's sizes in its annotations.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Rs;
use super::hash::{self, DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION};
use super::rolling::Run;
use crate::Error;
use crate::common::controller_owner;

impl Run<'_> {
    /// Plans the new ReplicaSet with `replicas`, bumping the collision count while its name
    /// is taken, and adds it to the working set.
    pub(super) fn create_new(&mut self, replicas: i32) -> Result<(), Error> {
        let spec = self.d.spec.as_ref().ok_or(Error::MissingField {
            kind: "Deployment",
            field: "spec",
        })?;
        let mut hash_value = hash::template_hash(&spec.template, self.collision_count);
        while self.taken.contains(&format!("{}-{hash_value}", self.name)) {
            self.collision_count = Some(self.collision_count.unwrap_or(0) + 1);
            hash_value = hash::template_hash(&spec.template, self.collision_count);
        }
        let revision = self.max_old_revision() + 1;
        let rs = self.build(&hash_value, replicas, revision)?;
        let rs_name = rs.metadata.name.clone().unwrap_or_default();
        self.rss.push(Rs {
            name: rs_name.clone(),
            uid: None,
            replicas,
            observed_replicas: replicas,
            status_replicas: 0,
            ready: 0,
            available: 0,
            created: self.now,
            revision,
            annotations: rs.metadata.annotations.clone().unwrap_or_default(),
            cleanable: false,
        });
        self.new = Some(self.rss.len() - 1);
        self.create = Some(rs);
        self.created_condition(&rs_name);
        Ok(())
    }

    fn build(&self, hash_value: &str, replicas: i32, revision: i64) -> Result<ReplicaSet, Error> {
        let spec = self.d.spec.as_ref().ok_or(Error::MissingField {
            kind: "Deployment",
            field: "spec",
        })?;
        let d_annotations = self.d.metadata.annotations.clone().unwrap_or_default();
        let mut annotations = hash::copied_annotations(&d_annotations);
        annotations.insert(REVISION.into(), revision.to_string());
        annotations.insert(DESIRED_REPLICAS.into(), self.ctx.replicas.to_string());
        annotations.insert(
            MAX_REPLICAS.into(),
            (self.ctx.replicas + self.ctx.max_surge).to_string(),
        );
        let mut template = spec.template.clone();
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash_value.into());
        let labels = meta.labels.clone();
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash_value.into());
        Ok(ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{hash_value}", self.name)),
                namespace: self.d.metadata.namespace.clone(),
                labels,
                annotations: Some(annotations),
                owner_references: Some(vec![controller_owner(
                    "apps/v1",
                    "Deployment",
                    self.name,
                    self.uid,
                )]),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        })
    }
}
