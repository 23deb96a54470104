//! `events.k8s.io/v1` Events, served from the core/v1 Events' storage as kube-apiserver
//! does: a request on the group (authorised as itself, by RBAC and the node rules) becomes
//! the same request on core Events, and objects are converted on the way in and out
//! (`skiff_api::events`). Watches convert each event line. Answers are JSON, protobuf (the
//! `k8s.io.api.events.v1` messages, watches as `WatchEvent` frames) or a Table for kubectl.

use std::convert::Infallible;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{Response, StatusCode};
use hyper::body::Frame;
use serde_json::Value;
use skiff_api::events::{field_selector_to_core, to_core, to_events_v1};
use skiff_api::patch::{self, ApplyOptions, PatchType};
use skiff_api::resources;
use skiff_api::status::ApiError;
use skiff_respond::Body;

use crate::deletes::DeleteOptions;
use crate::request::{ResourceRequest, Verb};
use crate::writes::Written;
use crate::{ApiServer, Format, respond};

/// The same request on core/v1 Events.
fn core_request(request: &ResourceRequest) -> Result<ResourceRequest, ApiError> {
    let info = resources::find("", "v1", "events")
        .ok_or_else(|| ApiError::internal("no core/v1 events in the resource table"))?;
    let mut core = request.clone();
    core.info = info;
    core.query.field_selector = core
        .query
        .field_selector
        .as_deref()
        .map(field_selector_to_core);
    Ok(core)
}

/// An answer's object in the events.k8s.io/v1 shape (a Status is left as it is).
fn shaped(object: Value) -> Value {
    if object["kind"] == "Event" {
        to_events_v1(&object)
    } else {
        object
    }
}

/// A list of core Events (a delete-collection's answer) as an events.k8s.io/v1 EventList.
fn shaped_list(mut list: Value) -> Value {
    if list["kind"] != "EventList" {
        return list;
    }
    if let Some(items) = list["items"].as_array_mut() {
        for item in items {
            *item = shaped(item.take());
        }
    }
    list["apiVersion"] = Value::String(skiff_api::events::API_VERSION.into());
    list
}

fn shaped_written(written: Written) -> Written {
    Written {
        object: shaped(written.object),
        ..written
    }
}

impl ApiServer {
    /// Serves an authorised request on `events.k8s.io/v1` events.
    pub(crate) async fn serve_events_v1(
        &self,
        request: &ResourceRequest,
        format: Format,
        parsed: Option<Value>,
        body: &[u8],
        content_type: &str,
    ) -> Result<Response<Body>, ApiError> {
        let core = core_request(request)?;
        let ok = |v: Value| respond::object(StatusCode::OK, request, format, v);
        match request.verb {
            Verb::Get => Ok(ok(shaped(self.get(&core).await?))),
            Verb::List => {
                let (items, list_meta) = self.list(&core).await?;
                let items = items.into_iter().map(shaped).collect();
                Ok(respond::list(request, format, items, list_meta))
            }
            // An Event's metadata is the same in both versions: nothing to reshape.
            Verb::Watch if matches!(format, Format::Metadata { list: false, .. }) => Ok(
                respond::stream(format, self.watch(&core, format, false).await?),
            ),
            Verb::Watch => {
                let events = self.watch(&core, Format::Json, false).await?;
                let protobuf = matches!(format, Format::Protobuf);
                let stream_format = if protobuf {
                    Format::Protobuf
                } else {
                    Format::Json
                };
                Ok(respond::stream(
                    stream_format,
                    reshaped_watch(events, protobuf),
                ))
            }
            Verb::Create => {
                let object = to_core(&parsed.unwrap_or_default());
                let written = self.create(&core, object).await?;
                Ok(respond::written(request, format, shaped_written(written)))
            }
            Verb::Update => {
                let object = to_core(&parsed.unwrap_or_default());
                let written = self.update(&core, object).await?;
                Ok(respond::written(request, format, shaped_written(written)))
            }
            Verb::Patch => {
                let written = self.patch_events_v1(&core, body, content_type).await?;
                Ok(respond::written(request, format, shaped_written(written)))
            }
            Verb::Delete => {
                let options = DeleteOptions::from(&core, parsed.as_ref());
                Ok(ok(shaped(self.delete(&core, &options).await?)))
            }
            Verb::DeleteCollection => {
                let options = DeleteOptions::from(&core, parsed.as_ref());
                Ok(ok(shaped_list(
                    self.delete_collection(&core, &options).await?,
                )))
            }
        }
    }

    /// A patch applied to the events.k8s.io/v1 shape of the stored Event, written back as an
    /// update of the version it was applied to (a race is a Conflict the client retries).
    async fn patch_events_v1(
        &self,
        core: &ResourceRequest,
        body: &[u8],
        content_type: &str,
    ) -> Result<Written, ApiError> {
        let patch_type = PatchType::from_content_type(content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
        if patch_type == PatchType::Apply {
            return Err(ApiError::unsupported_media_type(content_type));
        }
        let name = core.name.clone().unwrap_or_default();
        let current = to_events_v1(&self.get(core).await?);
        let options = ApplyOptions {
            field_manager: core.query.field_manager.clone(),
            force: core.query.force,
        };
        let patched = patch::apply_patch("Event", Some(&current), body, patch_type, &options)
            .map_err(|e| e.to_api_error("events.events.k8s.io", &name))?;
        self.update(core, to_core(&patched)).await
    }
}

/// The lines of a core Events watch with each Event in the events.k8s.io/v1 shape (lines
/// may arrive split across frames; each is converted once whole), as JSON lines or as
/// protobuf `WatchEvent` frames.
fn reshaped_watch(
    events: impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static,
    protobuf: bool,
) -> impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static {
    let mut pending: Vec<u8> = Vec::new();
    events.filter_map(move |frame| {
        let Ok(frame) = frame;
        let mut out = Vec::new();
        if let Ok(data) = frame.into_data() {
            pending.extend_from_slice(&data);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                out.extend(reshaped_line(&line, protobuf));
            }
        }
        let frame = (!out.is_empty()).then(|| Ok(Frame::data(Bytes::from(out))));
        futures::future::ready(frame)
    })
}

/// One watch line (`{"type": .., "object": ..}\n`) in the events.k8s.io/v1 shape, or that
/// event as a protobuf frame.
fn reshaped_line(line: &[u8], protobuf: bool) -> Vec<u8> {
    let Ok(mut event) = serde_json::from_slice::<Value>(line) else {
        return line.to_vec();
    };
    let object = event["object"].take();
    event["object"] = if event["type"] == "BOOKMARK" {
        let mut bookmark = object;
        bookmark["apiVersion"] = Value::String(skiff_api::events::API_VERSION.into());
        bookmark
    } else {
        shaped(object)
    };
    if protobuf {
        let kind = event["type"].as_str().unwrap_or("ERROR");
        return crate::watch::protobuf_frame(kind, &event["object"]).to_vec();
    }
    let mut out = serde_json::to_vec(&event).unwrap_or_else(|_| line.to_vec());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn watch_lines_are_reshaped_whole_even_when_split() {
        let added = json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e"}, "message": "hi", "involvedObject": {"name": "p"}}});
        let bookmark = json!({"type": "BOOKMARK", "object": {"apiVersion": "v1", "kind": "Event",
            "metadata": {"resourceVersion": "9"}}});
        let text = format!("{added}\n{bookmark}\n");
        let (a, b) = text.as_bytes().split_at(20);
        let frames = futures::stream::iter([
            Ok(Frame::data(Bytes::copy_from_slice(a))),
            Ok(Frame::data(Bytes::copy_from_slice(b))),
        ]);
        let out: Vec<u8> = futures::executor::block_on(
            reshaped_watch(frames, false)
                .map(|f| f.map(|f| f.into_data().unwrap_or_default()))
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .flat_map(|f| match f {
            Ok(bytes) => bytes.to_vec(),
            Err(e) => match e {},
        })
        .collect();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["object"]["apiVersion"], "events.k8s.io/v1");
        assert_eq!(lines[0]["object"]["note"], "hi");
        assert_eq!(lines[0]["object"]["regarding"]["name"], "p");
        assert_eq!(lines[1]["object"]["apiVersion"], "events.k8s.io/v1");
        assert_eq!(lines[1]["object"]["metadata"]["resourceVersion"], "9");
    }

    #[test]
    fn watch_events_become_protobuf_frames_of_the_events_v1_message() {
        let added = json!({"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "default", "resourceVersion": "5"},
            "message": "hi", "reason": "Started", "type": "Normal", "count": 2,
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}}});
        let line = format!("{added}\n");
        let frame = reshaped_line(line.as_bytes(), true);
        let (kind, object, rest) =
            skiff_api::protobuf::decode_watch_frame(&frame).expect("one frame");
        assert_eq!((kind.as_str(), rest.len()), ("ADDED", 0));
        assert_eq!(object["apiVersion"], "events.k8s.io/v1");
        assert_eq!(object["kind"], "Event");
        assert_eq!(object["note"], "hi");
        assert_eq!(object["deprecatedCount"], 2);
        assert_eq!(object["regarding"]["name"], "p");
        assert_eq!(
            object,
            shaped(added["object"].clone()),
            "nothing lost on the wire"
        );
    }
}
