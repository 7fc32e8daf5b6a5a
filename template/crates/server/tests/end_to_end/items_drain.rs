//! A drain with `auth=none`, run as a container runtime runs the binary: SIGTERM arrives while
//! a request to the example API is in flight, and the request is still served.

use std::time::Duration;

use crate::cli::serve;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[sqlx::test(migrations = "../../migrations")]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A client that sends its headers and only part of its body keeps a request in flight (the
    // handler waits for the rest). SIGTERM arrives in the middle; the rest of the body follows,
    // and the request must still be served.
    let served = serve(connect.get_database().unwrap(), &[]);
    let address = served.address.clone();
    let body = r#"{"name": "Drained"}"#;
    let head = format!(
        "POST /api/v1/tenants HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\
         x-request-id: drain-test-request\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminated = tokio::spawn(served.terminate());
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.contains("x-request-id: drain-test-request"),
        "{response}"
    );

    let rest = terminated.await.unwrap();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM received")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
    assert!(
        reqwest::get(format!("http://{address}/health/live"))
            .await
            .is_err()
    );
}
