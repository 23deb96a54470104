//! GET and LIST answered in protobuf straight from the stored JSON bytes: the objects are
//! transcoded (`skiff_api::protobuf::encode_stored_object` / `encode_stored_list`, the bytes
//! `respond::object`/`respond::list` would write) without being parsed into `Value`s, which
//! was a quarter of the API server's time in a protobuf list. A list with a label or field
//! selector needs the objects parsed to match them and takes the `Value` path, and so does
//! anything the transcoder refuses (it then answers the same bytes or the same error).

use http::{Response, StatusCode};
use skiff_api::protobuf;
use skiff_api::status::ApiError;
use skiff_respond::{self as http_respond, Body};

use super::request::ResourceRequest;
use super::{ApiServer, Format, objects, respond};

impl ApiServer {
    /// `GET` of one object in protobuf.
    pub(crate) async fn get_protobuf(
        &self,
        request: &ResourceRequest,
    ) -> Result<Response<Body>, ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        let kv = self
            .stored_named(request, name)
            .await?
            .ok_or_else(|| ApiError::not_found(&request.info.group_resource(), name))?;
        let info = request.info;
        match protobuf::encode_stored_object(
            &info.api_version(),
            info.kind,
            &kv.value,
            kv.mod_revision,
        ) {
            Ok(body) => Ok(answer(body)),
            Err(_) => Ok(respond::object(
                StatusCode::OK,
                request,
                Format::Protobuf,
                objects::decode(&kv)?,
            )),
        }
    }

    /// `LIST` in protobuf.
    pub(crate) async fn list_protobuf(
        &self,
        request: &ResourceRequest,
    ) -> Result<Response<Body>, ApiError> {
        let Some((kvs, list_meta)) = self.list_stored(request).await? else {
            let (items, list_meta) = self.list(request).await?;
            return Ok(respond::list(request, Format::Protobuf, items, list_meta));
        };
        let info = request.info;
        let items = kvs.iter().map(|kv| (kv.value.as_slice(), kv.mod_revision));
        match protobuf::encode_stored_list(
            &info.api_version(),
            &info.list_kind(),
            &list_meta,
            items,
        ) {
            Ok(body) => Ok(answer(body)),
            Err(_) => {
                let items = kvs.iter().map(objects::decode).collect::<Result<_, _>>()?;
                Ok(respond::list(request, Format::Protobuf, items, list_meta))
            }
        }
    }
}

fn answer(body: Vec<u8>) -> Response<Body> {
    http_respond::bytes(StatusCode::OK, protobuf::CONTENT_TYPE, body)
}
