//! XML-RPC over HTTP: calls to the master and to publishers, and the small server the ROS 1
//! node API needs (the master tells us about new publishers through it).

use super::xmlrpc::{self, ParseError, Value};
use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lookout_core::{Error, ErrorKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The master answers in milliseconds; a call still pending after this is a dead peer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// getSystemState of a large robot is tens of kilobytes.
const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// The calls we serve carry a few names.
const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Peers connect briefly (the master, `rosnode`); more at once is a flood.
const MAX_CONNECTIONS: usize = 32;
/// Python's XML-RPC client keeps a connection for its next call and retries once when it
/// finds it closed, so idle connections can be closed after a while.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct RpcClient {
    http: Client<HttpConnector, Full<Bytes>>,
}

impl RpcClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CALL_TIMEOUT));
        connector.set_nodelay(true);
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Calls `method` at `uri`.
    pub async fn call(
        &self,
        uri: &str,
        method: &str,
        params: &[Value],
    ) -> Result<Value, CallError> {
        let parsed: Uri = uri
            .parse()
            .map_err(|e| CallError::NoAnswer(format!("{uri:?} is not a valid URI: {e}")))?;
        let req = Request::post(parsed)
            .header(header::CONTENT_TYPE, "text/xml")
            .header(header::USER_AGENT, "lookout")
            .body(Full::new(Bytes::from(xmlrpc::write_call(method, params))))
            .map_err(|e| CallError::NoAnswer(format!("{uri}: {e}")))?;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                CallError::NoAnswer(format!("{uri} does not answer: {}", source_chain(&e)))
            })?;
            let status = resp.status();
            if status != StatusCode::OK {
                return Err(CallError::BadAnswer(format!(
                    "{uri} answered {method} with HTTP {status}"
                )));
            }
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    CallError::NoAnswer(format!("reading {uri}'s answer to {method}: {e}"))
                })?
                .to_bytes();
            Ok(body)
        };
        let body = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                CallError::NoAnswer(format!(
                    "{uri} did not answer {method} within {}s",
                    CALL_TIMEOUT.as_secs()
                ))
            })??;
        let text = std::str::from_utf8(&body).map_err(|_| {
            CallError::BadAnswer(format!("{uri}'s answer to {method} is not UTF-8"))
        })?;
        xmlrpc::parse_response(text).map_err(|e| match e {
            ParseError::Fault { .. } => {
                CallError::BadAnswer(format!("{uri} refused {method}: {e}"))
            }
            ParseError::Malformed(_) => {
                CallError::BadAnswer(format!("{uri}'s answer to {method}: {e}"))
            }
        })
    }
}

/// Why a call failed: the peer is not there, or it answered something unusable.
#[derive(Debug, Clone)]
pub enum CallError {
    /// Refused, reset, timed out: nobody (working) listens at the URI.
    NoAnswer(String),
    /// An HTTP error, a fault, or not XML-RPC.
    BadAnswer(String),
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        match e {
            CallError::NoAnswer(m) | CallError::BadAnswer(m) => {
                Error::new(ErrorKind::Unavailable, m)
            }
        }
    }
}

/// hyper's errors say "client error (Connect)" at the top and the useful part underneath.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// What the ROS APIs return: `[code, status message, value]`, code 1 meaning success. Any
/// other shape or code is an error naming the method and the peer.
pub fn ros_result(v: Value, peer: &str, method: &str) -> Result<Value, Error> {
    let Value::Array(mut items) = v else {
        return Err(Error::corrupt(format!(
            "{peer} answered {method} with {v:?}, not [code, message, value]"
        )));
    };
    if items.len() != 3 {
        return Err(Error::corrupt(format!(
            "{peer} answered {method} with {} items, not [code, message, value]",
            items.len()
        )));
    }
    let value = items.pop().unwrap_or(Value::Nil);
    let message = items.pop().unwrap_or(Value::Nil);
    match items.pop().and_then(|c| c.as_int()) {
        Some(1) => Ok(value),
        code => Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "{peer} refused {method} (code {}): {}",
                code.unwrap_or(0),
                message.as_str().unwrap_or("")
            ),
        )),
    }
}

/// A method handler: name and parameters to a response value, or a fault (code, message).
pub type Handler = Arc<dyn Fn(&str, Vec<Value>) -> Result<Value, (i32, String)> + Send + Sync>;

/// Serves XML-RPC on `listener` until `cancel` fires.
pub async fn serve(listener: TcpListener, handler: Handler, cancel: CancellationToken) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = cancel.cancelled() => return,
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            () = cancel.cancelled() => return,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait instead of spinning.
                    tracing::warn!("ros1: accepting an XML-RPC connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let handler = handler.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(req, &handler).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = tokio::time::timeout(CONNECTION_LIFETIME, conn) => {}
            }
        });
    }
}

async fn answer(req: Request<Incoming>, handler: &Handler) -> Response<Full<Bytes>> {
    let xml = |status: StatusCode, body: String| {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/xml"),
        );
        resp
    };
    if req.method() != http::Method::POST {
        return xml(StatusCode::METHOD_NOT_ALLOWED, String::new());
    }
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return xml(StatusCode::PAYLOAD_TOO_LARGE, String::new()),
    };
    let call = std::str::from_utf8(&body)
        .map_err(|_| "the call is not UTF-8".to_owned())
        .and_then(|text| xmlrpc::parse_call(text).map_err(|e| e.to_string()));
    let out = match call {
        Ok((method, params)) => match handler(&method, params) {
            Ok(v) => xmlrpc::write_response(&v),
            Err((code, message)) => xmlrpc::write_fault(code, &message),
        },
        Err(e) => xmlrpc::write_fault(-32700, &e),
    };
    xml(StatusCode::OK, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ros_results_unwrap_success_and_name_failures() {
        let ok = Value::Array(vec![1.into(), "".into(), "x".into()]);
        assert_eq!(ros_result(ok, "m", "f").unwrap(), Value::from("x"));
        let refused = Value::Array(vec![(-1).into(), "no such topic".into(), 0.into()]);
        let e = ros_result(refused, "http://m/", "lookupNode").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.message().contains("no such topic") && e.message().contains("lookupNode"));
        assert!(ros_result(Value::Int(1), "m", "f").is_err());
        assert!(ros_result(Value::Array(vec![1.into()]), "m", "f").is_err());
    }

    #[tokio::test]
    async fn the_server_answers_calls_and_faults_what_it_cannot_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/", listener.local_addr().unwrap());
        let handler: Handler = Arc::new(|method, params| match method {
            "echo" => Ok(Value::Array(params)),
            _ => Err((1, format!("unknown method {method}"))),
        });
        let cancel = CancellationToken::new();
        let server = tokio::spawn(serve(listener, handler, cancel.clone()));
        let client = RpcClient::new();
        let v = client
            .call(&uri, "echo", &["a".into(), 2.into()])
            .await
            .unwrap();
        assert_eq!(v, Value::Array(vec!["a".into(), 2.into()]));
        let e = client.call(&uri, "nope", &[]).await.unwrap_err();
        assert!(
            matches!(&e, CallError::BadAnswer(m) if m.contains("unknown method nope")),
            "{e:?}"
        );
        cancel.cancel();
        server.await.unwrap();
        let e = client.call(&uri, "echo", &[]).await.unwrap_err();
        assert!(matches!(e, CallError::NoAnswer(_)), "{e:?}");
    }
}
