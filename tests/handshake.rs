//! The real binary's handshake: cookie, protocol check, stdout line, AutoMTLS that admits only
//! Terraform's certificate, and GRPCController.Shutdown ending the process.

mod support;

use base64::Engine;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::grpc::{terraform_like_client_identity, tls_channel, ClientIdentity};
use tfplugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;

struct Started {
    child: Child,
    network: String,
    addr: String,
    cert: Vec<u8>,
}

fn start(client: Option<&ClientIdentity>, extra: &[(&str, &str)]) -> Started {
    let mut c = Command::new(support::provider_binary());
    c.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(id) = client {
        c.env("PLUGIN_CLIENT_CERT", &id.cert_pem);
    }
    for (k, v) in extra {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line: {line:?}");
    assert_eq!(parts[0], "1");
    assert_eq!(parts[1], "6");
    assert_eq!(parts[4], "grpc");
    let cert = if parts[5].is_empty() {
        vec![]
    } else {
        assert!(
            !parts[5].ends_with('='),
            "certificate must be unpadded base64"
        );
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .expect("base64 DER")
    };
    Started {
        child,
        network: parts[2].to_string(),
        addr: parts[3].to_string(),
        cert,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn schema_call(ch: tonic::transport::Channel) -> Result<usize, tonic::Status> {
    let mut c = ProviderClient::new(ch);
    let r = c
        .get_provider_schema(get_provider_schema::Request {})
        .await?
        .into_inner();
    Ok(r.provider.unwrap().block.unwrap().block_types.len())
}

#[test]
fn run_by_hand_explains_and_exits_1() {
    let out = Command::new(support::provider_binary())
        .env_remove(MAGIC_COOKIE_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plugin for Terraform and OpenTofu"), "{err}");
}

#[test]
fn protocol_5_only_is_refused() {
    let out = Command::new(support::provider_binary())
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only version 6"));
}

#[test]
fn automtls_admits_only_the_announced_client_certificate() {
    let terraform = terraform_like_client_identity();
    let stranger = terraform_like_client_identity();
    let mut s = start(Some(&terraform), &[]);
    assert_eq!(s.network, "unix");
    assert!(s.cert.len() > 100, "a certificate is announced");
    let rt = rt();
    let sock = PathBuf::from(&s.addr);

    // Terraform's own certificate: the call goes through.
    let n = rt.block_on(async {
        let ch = tls_channel(sock.clone(), s.cert.clone(), Some(&terraform))
            .await
            .unwrap();
        schema_call(ch).await
    });
    assert_eq!(n.unwrap(), 4, "four provider configuration blocks");

    // No client certificate, or another one: no call can complete.
    for who in [None, Some(&stranger)] {
        let res = rt.block_on(async {
            match tls_channel(sock.clone(), s.cert.clone(), who).await {
                Err(e) => Err(e),
                Ok(ch) => schema_call(ch).await.map_err(|e| e.to_string()),
            }
        });
        assert!(
            res.is_err(),
            "a client with {:?} certificate must be refused",
            who.map(|_| "a wrong").unwrap_or("no")
        );
    }

    // A plaintext client cannot speak to the TLS socket either.
    let res = rt.block_on(async {
        let ch = support::grpc::plain_channel(sock.clone()).await;
        schema_call(ch).await
    });
    assert!(res.is_err());

    // Shutdown ends the process promptly.
    let t0 = Instant::now();
    rt.block_on(async {
        let ch = tls_channel(sock.clone(), s.cert.clone(), Some(&terraform))
            .await
            .unwrap();
        GrpcControllerClient::new(ch)
            .shutdown(tfplugin::proto::plugin::Empty {})
            .await
            .unwrap();
    });
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "provider did not exit within 2 s of Shutdown"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sock.exists(), "socket removed on exit");
}

#[test]
fn no_client_certificate_means_plaintext_and_tcp_when_asked() {
    let mut s = start(
        None,
        &[
            ("PLUGIN_TRANSPORT", "tcp"),
            ("PLUGIN_MIN_PORT", "20000"),
            ("PLUGIN_MAX_PORT", "25000"),
        ],
    );
    assert_eq!(s.network, "tcp");
    assert!(s.cert.is_empty());
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    assert!((20000..=25000).contains(&port));
    let rt = rt();
    let n = rt.block_on(async {
        let ch = tonic::transport::Endpoint::try_from(format!("http://{}", s.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        schema_call(ch).await
    });
    assert_eq!(n.unwrap(), 4);
    let _ = s.child.kill();
    let _ = s.child.wait();
}

#[test]
fn debug_mode_prints_reattach_settings() {
    let mut child = Command::new(support::provider_binary())
        .arg("--debug")
        .env_remove(MAGIC_COOKIE_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for _ in 0..4 {
        reader.read_line(&mut text).unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
    let json = text
        .split("TF_REATTACH_PROVIDERS='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("reattach value printed");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        v["registry.terraform.io/viktorbarzin/cicd"]["Addr"]["Network"],
        "unix"
    );
}

#[test]
fn provider_exits_when_terraform_is_gone() {
    // A parent shell that starts the provider, prints its pid and dies at once.
    // The provider's output goes elsewhere, so a provider that stays alive fails the test below
    // instead of hanging it.
    let script = format!(
        "{} >/dev/null 2>&1 & echo $!; sleep 1",
        support::provider_binary().display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pid = text
        .lines()
        .find_map(|l| l.trim().parse::<u32>().ok())
        .expect("pid printed");
    let t0 = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2) == Some("Z") {
            break; // exited, waiting to be reaped
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "orphaned provider still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
