//! The calls a subscriber makes: to the master (<https://wiki.ros.org/ROS/Master_API>) to find
//! topics and (un)register, and to a publisher's node to ask for a TCPROS endpoint.

use super::rpc::{CallError, RpcClient, ros_result};
use super::xmlrpc::Value;
use lookout_core::{Error, ErrorKind};

#[derive(Clone)]
pub struct Master {
    uri: String,
    caller_id: String,
    caller_api: String,
    rpc: RpcClient,
}

impl Master {
    pub fn new(uri: String, caller_id: String, caller_api: String, rpc: RpcClient) -> Self {
        Self {
            uri,
            caller_id,
            caller_api,
            rpc,
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    async fn call(&self, method: &str, mut params: Vec<Value>) -> Result<Value, Error> {
        params.insert(0, Value::from(self.caller_id.as_str()));
        let answer = self
            .rpc
            .call(&self.uri, method, &params)
            .await
            .map_err(|e| match e {
                CallError::NoAnswer(why) => Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the ROS master at {} is unreachable ({why}): start roscore, or point \
                     ROS_MASTER_URI or [ros1] master_uri at the running master",
                        self.uri
                    ),
                ),
                CallError::BadAnswer(why) => {
                    Error::new(ErrorKind::Unavailable, format!("the ROS master: {why}"))
                }
            })?;
        ros_result(answer, &format!("the ROS master at {}", self.uri), method)
    }

    /// Every topic with a publisher now, with its type: `(name, type)`.
    pub async fn published_topics(&self) -> Result<Vec<(String, String)>, Error> {
        let v = self.call("getPublishedTopics", vec!["".into()]).await?;
        let pairs = v
            .as_array()
            .ok_or_else(|| self.shape("getPublishedTopics"))?;
        pairs
            .iter()
            .map(|p| match p.as_array() {
                Some([Value::Str(name), Value::Str(ty)]) => Ok((name.clone(), ty.clone())),
                _ => Err(self.shape("getPublishedTopics")),
            })
            .collect()
    }

    /// Registers us as a subscriber of `topic`; returns the XML-RPC URIs of its publishers.
    /// Registering again is harmless and returns the current list.
    pub async fn register_subscriber(&self, topic: &str, ty: &str) -> Result<Vec<String>, Error> {
        let v = self
            .call(
                "registerSubscriber",
                vec![topic.into(), ty.into(), self.caller_api.as_str().into()],
            )
            .await?;
        uri_list(&v).ok_or_else(|| self.shape("registerSubscriber"))
    }

    pub async fn unregister_subscriber(&self, topic: &str) -> Result<(), Error> {
        self.call(
            "unregisterSubscriber",
            vec![topic.into(), self.caller_api.as_str().into()],
        )
        .await
        .map(|_| ())
    }

    fn shape(&self, method: &str) -> Error {
        Error::corrupt(format!(
            "the ROS master at {} answered {method} in an unexpected shape",
            self.uri
        ))
    }

    /// Asks the node at `publisher_api` where to connect for `topic` over TCPROS.
    pub async fn request_topic(
        &self,
        publisher_api: &str,
        topic: &str,
    ) -> Result<(String, u16), Error> {
        let params = [
            Value::from(self.caller_id.as_str()),
            topic.into(),
            Value::Array(vec![Value::Array(vec!["TCPROS".into()])]),
        ];
        let answer = self
            .rpc
            .call(publisher_api, "requestTopic", &params)
            .await?;
        let v = ros_result(answer, publisher_api, "requestTopic")?;
        match v.as_array() {
            Some([Value::Str(proto), Value::Str(host), Value::Int(port)]) if proto == "TCPROS" => {
                let port = u16::try_from(*port).map_err(|_| {
                    Error::corrupt(format!("{publisher_api} offered TCPROS on port {port}"))
                })?;
                Ok((host.clone(), port))
            }
            _ => Err(Error::corrupt(format!(
                "{publisher_api} answered requestTopic with {v:?}, not [\"TCPROS\", host, port]"
            ))),
        }
    }
}

/// A publisher list as the master sends it (registerSubscriber, publisherUpdate).
pub fn uri_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|u| u.as_str().map(str::to_owned))
        .collect()
}
