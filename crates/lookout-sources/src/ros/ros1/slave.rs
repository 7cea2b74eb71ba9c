//! The node API every ROS 1 node serves (<https://wiki.ros.org/ROS/Slave_API>): the master
//! calls `publisherUpdate` when a topic's publishers change; `rosnode` asks the rest.

use super::master::uri_list;
use super::shared::Shared;
use super::xmlrpc::Value;
use std::sync::Weak;

/// Answers one call. Held weakly: the server must not keep a dropped node alive.
pub(super) fn handle(
    shared: &Weak<Shared>,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, (i32, String)> {
    let Some(shared) = shared.upgrade() else {
        return Err((1, "the node is shutting down".into()));
    };
    let ok = |v: Value| Ok(Value::Array(vec![1.into(), "".into(), v]));
    let bad_args = || {
        Ok(Value::Array(vec![
            (-1).into(),
            format!("bad arguments for {method}").as_str().into(),
            0.into(),
        ]))
    };
    match method {
        "publisherUpdate" => match params.as_slice() {
            [_caller, Value::Str(topic), list] => match uri_list(list) {
                Some(uris) => {
                    shared.publisher_update(topic, uris);
                    ok(0.into())
                }
                None => bad_args(),
            },
            _ => bad_args(),
        },
        "getPid" => ok(Value::Int(
            i32::try_from(std::process::id()).unwrap_or(i32::MAX),
        )),
        "getMasterUri" => ok(shared.master.uri().into()),
        "getSubscriptions" => ok(Value::Array(
            shared
                .subscriptions()
                .into_iter()
                .map(|(topic, ty)| Value::Array(vec![topic.as_str().into(), ty.into()]))
                .collect(),
        )),
        "getPublications" | "getBusInfo" => ok(Value::Array(Vec::new())),
        "getBusStats" => ok(Value::Array(vec![
            Value::Array(Vec::new()),
            Value::Array(Vec::new()),
            Value::Array(Vec::new()),
        ])),
        "paramUpdate" => ok(0.into()),
        "requestTopic" => Ok(Value::Array(vec![
            0.into(),
            "this node publishes no topics".into(),
            0.into(),
        ])),
        "shutdown" => {
            // The master sends this when another node registers our name. Stopping would
            // turn a name clash into a dead camera; saying so lets the operator fix it.
            let why = params.get(1).and_then(Value::as_str).unwrap_or("");
            tracing::warn!(
                "ros1: asked to shut down ({why}); another node may use the name {}: \
                 give this one its own with [ros1] node_name",
                shared.caller_id
            );
            ok(0.into())
        }
        _ => Err((1, format!("unknown method {method}"))),
    }
}
