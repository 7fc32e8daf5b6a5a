//! `bench-baseline <port> <json-file>`: answers every GET with the file's bytes as
//! `application/json`. No tracing, metrics, auth, limits or timeouts: what axum alone costs on
//! this machine, the ceiling the generated service is measured against.

use axum::Router;
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "18081".to_owned());
    let path = args.next().unwrap_or_else(|| "item.json".to_owned());
    let body: &'static [u8] = std::fs::read(path)?.leak();
    let app = Router::new().fallback(get(move || async move {
        ([(header::CONTENT_TYPE, "application/json")], body)
    }));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
