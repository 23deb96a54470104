//! The manifest endpoints: read by tag or digest (end-3), push (end-7), delete (end-9), the
//! tags list with `n`/`last` (end-8) and referrers with the `artifactType` filter (end-12).

use http::{Method, Response, StatusCode};
use serde_json::{Value, json};
use skiff_respond::Body;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::manifest::{self, OCI_INDEX};
use crate::route::Reference;
use crate::storage::{
    self, Freshness, ManifestRecord, Storage, decode, encode, list_all, manifest_key, tag_key,
};
use crate::{Registry, RegistryRequest, blobs, empty, located, set_header};

impl<S: Storage> Registry<S> {
    /// The digest `reference` names in `name`, if any.
    async fn resolve(
        &self,
        name: &str,
        reference: &Reference,
    ) -> Result<Option<Digest>, RegistryError> {
        match reference {
            Reference::Digest(d) => Ok(Some(d.clone())),
            Reference::Tag(tag) => match self
                .storage
                .get(&tag_key(name, tag), Freshness::Latest)
                .await?
            {
                Some(stored) => Ok(Some(Digest::parse(&String::from_utf8_lossy(
                    &stored.value,
                ))?)),
                None => Ok(None),
            },
        }
    }

    async fn record(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<ManifestRecord>, RegistryError> {
        match self
            .storage
            .get(&manifest_key(name, digest), Freshness::Latest)
            .await?
        {
            Some(stored) => Ok(Some(decode(&stored)?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn get_manifest(
        &self,
        request: &RegistryRequest,
        name: &str,
        reference: &Reference,
    ) -> Result<Response<Body>, RegistryError> {
        let unknown = || RegistryError::ManifestUnknown(format!("{name}: {reference:?}"));
        let digest = self.resolve(name, reference).await?.ok_or_else(unknown)?;
        let record = self.record(name, &digest).await?.ok_or_else(unknown)?;
        let size = record.bytes.len();
        let mut response = if request.method == Method::HEAD {
            empty(StatusCode::OK)
        } else {
            skiff_respond::bytes(StatusCode::OK, &record.media_type, record.bytes)
        };
        set_header(&mut response, "content-type", &record.media_type);
        set_header(&mut response, "content-length", &size.to_string());
        set_header(&mut response, "docker-content-digest", &digest.to_string());
        Ok(response)
    }

    pub(crate) async fn put_manifest(
        &self,
        request: &RegistryRequest,
        name: &str,
        reference: &Reference,
    ) -> Result<Response<Body>, RegistryError> {
        let digest = Digest::of(&request.body);
        if let Reference::Digest(named) = reference {
            named.verify(&request.body)?;
        }
        let record = manifest::parse(&request.body, request.header(http::header::CONTENT_TYPE))?;
        for blob in &record.blobs {
            let blob = Digest::parse(blob)?;
            if blobs::meta(self.storage.as_ref(), &blob).await?.is_none() {
                return Err(RegistryError::ManifestBlobUnknown(blob.to_string()));
            }
        }
        for entry in &record.manifests {
            if self.record(name, &Digest::parse(entry)?).await?.is_none() {
                return Err(RegistryError::ManifestBlobUnknown(entry.clone()));
            }
        }
        let subject = record.subject.clone();
        self.storage
            .put(&manifest_key(name, &digest), encode(&record))
            .await?;
        if let Reference::Tag(tag) = reference {
            self.storage
                .put(&tag_key(name, tag), digest.to_string().into_bytes())
                .await?;
        }
        let location = format!("/v2/{name}/manifests/{digest}");
        let mut response = located(StatusCode::CREATED, &location, &digest);
        if let Some(subject) = subject {
            set_header(&mut response, "oci-subject", &subject);
        }
        Ok(response)
    }

    /// A tag deletes the tag; a digest deletes the manifest and every tag pointing at it.
    pub(crate) async fn delete_manifest(
        &self,
        name: &str,
        reference: &Reference,
    ) -> Result<Response<Body>, RegistryError> {
        let unknown = || RegistryError::ManifestUnknown(format!("{name}: {reference:?}"));
        match reference {
            Reference::Tag(tag) => {
                if !self.storage.delete(&tag_key(name, tag), None).await? {
                    return Err(unknown());
                }
            }
            Reference::Digest(digest) => {
                if !self
                    .storage
                    .delete(&manifest_key(name, digest), None)
                    .await?
                {
                    return Err(unknown());
                }
                let text = digest.to_string();
                for tag in list_all(self.storage.as_ref(), &storage::tags_prefix(name)).await? {
                    if tag.value == text.as_bytes() {
                        self.storage.delete(&tag.key, Some(tag.revision)).await?;
                    }
                }
            }
        }
        Ok(empty(StatusCode::ACCEPTED))
    }

    pub(crate) async fn tags(
        &self,
        request: &RegistryRequest,
        name: &str,
    ) -> Result<Response<Body>, RegistryError> {
        let prefix = storage::tags_prefix(name);
        let mut tags: Vec<String> = list_all(self.storage.as_ref(), &prefix)
            .await?
            .into_iter()
            .filter_map(|s| s.key.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        if tags.is_empty() {
            let manifests = self
                .storage
                .list(&storage::manifests_prefix(name), None, 1)
                .await?;
            if manifests.is_empty() {
                return Err(RegistryError::NameUnknown(name.to_owned()));
            }
        }
        if let Some(last) = request.query_param("last") {
            tags.retain(|t| *t > last);
        }
        let limit = request
            .query_param("n")
            .and_then(|n| n.parse::<usize>().ok());
        let more = limit.is_some_and(|n| tags.len() > n);
        if let Some(n) = limit {
            tags.truncate(n);
        }
        let mut response =
            skiff_respond::json(StatusCode::OK, &json!({"name": name, "tags": tags}));
        if let (true, Some(n), Some(last)) = (more, limit, tags.last()) {
            let link = format!("</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\"");
            set_header(&mut response, "link", &link);
        }
        Ok(response)
    }

    pub(crate) async fn referrers(
        &self,
        request: &RegistryRequest,
        name: &str,
        digest: &Digest,
    ) -> Result<Response<Body>, RegistryError> {
        let wanted = request.query_param("artifactType");
        let subject = digest.to_string();
        let mut descriptors: Vec<Value> = Vec::new();
        for stored in list_all(self.storage.as_ref(), &storage::manifests_prefix(name)).await? {
            let record: ManifestRecord = decode(&stored)?;
            if record.subject.as_deref() != Some(subject.as_str()) {
                continue;
            }
            if wanted.is_some() && record.artifact_type != wanted {
                continue;
            }
            let mut descriptor = json!({
                "mediaType": record.media_type,
                "digest": Digest::of(&record.bytes).to_string(),
                "size": record.bytes.len(),
            });
            if let Some(t) = &record.artifact_type {
                descriptor["artifactType"] = json!(t);
            }
            if let Some(a) = &record.annotations {
                descriptor["annotations"] = a.clone();
            }
            descriptors.push(descriptor);
        }
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors});
        let mut response = skiff_respond::bytes(StatusCode::OK, OCI_INDEX, encode(&index));
        if wanted.is_some() {
            set_header(&mut response, "oci-filters-applied", "artifactType");
        }
        Ok(response)
    }
}
