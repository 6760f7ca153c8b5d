//! RFC 9266 channel binding over a real rustls TLS 1.3 connection on loopback: a session
//! established on one connection is refused on another, even with the right id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "tests: fixed inputs, a panic is a failure"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use medsec_session::store::MemoryStore;
use medsec_session::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
};

/// RFC 9266 `tls-exporter`: label "EXPORTER-Channel-Binding", no context, 32 bytes.
fn exporter<S>(conn: &rustls::ConnectionCommon<S>) -> [u8; TLS_EXPORTER_LEN] {
    conn.export_keying_material([0u8; TLS_EXPORTER_LEN], TLS_EXPORTER_LABEL, None)
        .unwrap()
}

fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let server = ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// One client connection: sends `line`, returns the server's answer and the client-side
/// exporter value.
fn client_request(cfg: &Arc<ClientConfig>, port: u16, line: &str) -> (String, [u8; 32]) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let conn =
        ClientConnection::new(cfg.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(format!("{line}\n").as_bytes()).unwrap();
    tls.flush().unwrap();
    let ekm = exporter(&tls.conn);
    let mut answer = String::new();
    BufReader::new(&mut tls).read_line(&mut answer).unwrap();
    (answer.trim().to_owned(), ekm)
}

#[test]
fn bound_session_is_useless_on_another_tls_connection() {
    let (server_cfg, client_cfg) = configs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let sessions = Sessions::new(
        MemoryStore::new(),
        &clock,
        DataSecret::generate(&mut rng),
        SessionPolicy::builder()
            .require_channel_binding(true)
            .build()
            .unwrap(),
    )
    .unwrap();
    const CONNECTIONS: usize = 4;

    std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            let mut server_ekms = Vec::new();
            for stream in listener.incoming().take(CONNECTIONS) {
                let tcp = stream.unwrap();
                let conn = ServerConnection::new(server_cfg.clone()).unwrap();
                let mut tls = StreamOwned::new(conn, tcp);
                let mut line = String::new();
                BufReader::new(&mut tls).read_line(&mut line).unwrap();
                let binding = ChannelBinding::from_exporter(exporter(&tls.conn));
                server_ekms.push(exporter(&tls.conn));
                let user = UserId::new("patient-tls").unwrap();
                let answer = match line.trim().split_once(' ') {
                    None if line.trim() == "LOGIN" => {
                        let s = sessions
                            .login(&mut rng, &user, Role::Patient, Some(&binding), None)
                            .unwrap();
                        format!("OK {}", s.id().encode().as_str())
                    }
                    Some(("RESUME", id)) => match SessionId::decode(id)
                        .and_then(|id| sessions.resume(&id, Some(&binding)))
                    {
                        Ok(_) => "OK".to_owned(),
                        Err(e) => format!("DENIED {e:?}"),
                    },
                    _ => "BAD".to_owned(),
                };
                tls.write_all(format!("{answer}\n").as_bytes()).unwrap();
                tls.flush().unwrap();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
            server_ekms
        });

        // Connection 1: log in; the session is bound to this connection.
        let (answer, ekm1) = client_request(&client_cfg, port, "LOGIN");
        let id = answer.strip_prefix("OK ").expect("login answer").to_owned();
        // Connection 2: same id, new TLS connection (a stolen cookie replayed elsewhere).
        let (answer2, ekm2) = client_request(&client_cfg, port, &format!("RESUME {id}"));
        assert_eq!(answer2, "DENIED Rejected");
        assert_ne!(ekm1, ekm2, "exporters differ per connection");
        // Connection 3: a made-up id is refused the same way.
        let bogus = SessionId::from_bytes([9; 32]).encode();
        let (answer3, _) = client_request(&client_cfg, port, &format!("RESUME {}", bogus.as_str()));
        assert_eq!(answer3, "DENIED Rejected");
        // Connection 4: garbage instead of an id.
        let (answer4, _) = client_request(&client_cfg, port, "RESUME not-an-id");
        assert_eq!(answer4, "DENIED Rejected");

        let server_ekms = server.join().unwrap();
        // Both ends derive the same RFC 9266 value on the first connection.
        assert_eq!(server_ekms[0], ekm1);
        assert_eq!(server_ekms[1], ekm2);
    });
}

#[test]
fn bound_session_resumes_on_its_own_connection() {
    // Same connection, several requests: the binding matches every time.
    let (server_cfg, client_cfg) = configs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let sessions = Sessions::new(
        MemoryStore::new(),
        &clock,
        DataSecret::generate(&mut rng),
        SessionPolicy::BACKEND_L3,
    )
    .unwrap();
    std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            let (tcp, _) = listener.accept().unwrap();
            let mut tls = StreamOwned::new(ServerConnection::new(server_cfg.clone()).unwrap(), tcp);
            let mut reader_line = String::new();
            BufReader::new(&mut tls)
                .read_line(&mut reader_line)
                .unwrap();
            let binding = ChannelBinding::from_exporter(exporter(&tls.conn));
            let user = UserId::new("patient-tls").unwrap();
            let s = sessions
                .login(&mut rng, &user, Role::Patient, Some(&binding), None)
                .unwrap();
            let id = SessionId::from_bytes(*s.id().as_bytes());
            for _ in 0..3 {
                let again = ChannelBinding::from_exporter(exporter(&tls.conn));
                sessions.resume(&id, Some(&again)).unwrap();
            }
            tls.write_all(b"DONE\n").unwrap();
            tls.flush().unwrap();
        });
        let (answer, _) = client_request(&client_cfg, port, "LOGIN");
        assert_eq!(answer, "DONE");
        server.join().unwrap();
    });
}
