//! A DNS server for tests: UDP on `127.0.0.1:0`, answering A, AAAA and TXT
//! questions from a table the test fills (and may change while it runs);
//! any other name is NXDOMAIN. Point the server under test at it with
//! `AppConfig::dns_server`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{RData, Record, RecordType};

#[derive(Default)]
struct Table {
    records: HashMap<(String, RecordType), Vec<RData>>,
    /// Questions asked, by name and type.
    asked: HashMap<(String, RecordType), usize>,
}

/// The running server; dropping it stops it.
pub struct TestDns {
    pub addr: SocketAddr,
    table: Arc<Mutex<Table>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestDns {
    pub async fn start() -> TestDns {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind the test DNS server");
        let addr = socket.local_addr().expect("addr");
        let table: Arc<Mutex<Table>> = Arc::default();
        let shared = Arc::clone(&table);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Some(reply) = answer(&shared, &buf[..n]) else {
                    continue;
                };
                let _ = socket.send_to(&reply, peer).await;
            }
        });
        TestDns { addr, table, task }
    }

    /// `name` has this address (an A or AAAA record, added to any others).
    pub fn address(&self, name: &str, ip: IpAddr) {
        let (kind, data) = match ip {
            IpAddr::V4(v4) => (RecordType::A, RData::A(A(v4))),
            IpAddr::V6(v6) => (RecordType::AAAA, RData::AAAA(AAAA(v6))),
        };
        self.add(name, kind, data);
    }

    /// `name` has a TXT record with this value (added to any others).
    pub fn txt(&self, name: &str, value: &str) {
        self.add(
            name,
            RecordType::TXT,
            RData::TXT(TXT::new(vec![value.to_owned()])),
        );
    }

    /// How many times `name`'s A record was asked for (once per lookup).
    pub fn lookups(&self, name: &str) -> usize {
        let table = self.table.lock().expect("table");
        table
            .asked
            .get(&(key(name), RecordType::A))
            .copied()
            .unwrap_or(0)
    }

    fn add(&self, name: &str, kind: RecordType, data: RData) {
        self.table
            .lock()
            .expect("table")
            .records
            .entry((key(name), kind))
            .or_default()
            .push(data);
    }
}

fn answer(table: &Mutex<Table>, request: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(request).ok()?;
    let mut response = Message::response(request.metadata.id, OpCode::Query);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    let mut table = table.lock().expect("table");
    let mut known = false;
    for query in &request.queries {
        response.add_query(query.clone());
        let name = key(&query.name().to_ascii());
        *table
            .asked
            .entry((name.clone(), query.query_type()))
            .or_default() += 1;
        known |= table.records.keys().any(|(n, _)| *n == name);
        for data in table
            .records
            .get(&(name, query.query_type()))
            .into_iter()
            .flatten()
        {
            response.add_answer(Record::from_rdata(query.name().clone(), 0, data.clone()));
        }
    }
    if !known {
        response.metadata.response_code = ResponseCode::NXDomain;
    }
    response.to_vec().ok()
}
