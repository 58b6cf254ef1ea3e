//! DNS for the server: the addresses a tenant's webhook resolves to (each
//! checked by the core's `notify::address_problem` before the worker
//! connects, see [`CheckedResolver`]) and the TXT records that prove a
//! portal host name's owner controls its domain.
//!
//! By default the system's resolver configuration (`/etc/resolv.conf`);
//! `--dns-server` (or [`AppConfig::dns_server`](crate::cli::serve::AppConfig))
//! names one server instead, which is how the tests point it at a DNS server
//! of their own. Nothing is cached: each delivery and each verification asks
//! afresh, so a changed record counts at once.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// A resolver shared by the API (TXT challenges) and the worker (webhooks).
#[derive(Clone)]
pub struct Dns {
    resolver: Arc<TokioResolver>,
    server: Option<SocketAddr>,
}

impl fmt::Debug for Dns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dns")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a name could not be resolved (not: why it resolved to nothing).
#[derive(Debug)]
pub struct DnsError(String);

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DnsError {}

impl Dns {
    /// The system's resolver (`server: None`) or the one DNS server named,
    /// over UDP (and TCP for truncated answers) on its port.
    pub fn new(server: Option<SocketAddr>) -> Result<Self, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match server {
            None => match TokioResolver::builder(provider.clone()) {
                Ok(builder) => builder,
                Err(e) => {
                    // No usable /etc/resolv.conf: lookups will fail (a
                    // delivery or a verification then fails, and says so).
                    tracing::warn!(error = %e, "cannot read the system's DNS configuration");
                    TokioResolver::builder_with_config(
                        ResolverConfig::from_name_servers(Vec::new()),
                        provider,
                    )
                }
            },
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    provider,
                )
            }
        };
        let options = builder.options_mut();
        options.cache_size = 0;
        if server.is_some() {
            // The named server is the only source: no /etc/hosts.
            options.use_hosts_file = ResolveHosts::Never;
        }
        let resolver = builder
            .build()
            .map_err(|e| format!("cannot build the DNS resolver: {e}"))?;
        Ok(Self {
            resolver: Arc::new(resolver),
            server,
        })
    }

    /// The addresses `name` resolves to (A and AAAA); empty when it has none.
    pub async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        match self.resolver.lookup_ip(fqdn(name)).await {
            Ok(found) => Ok(found.iter().collect()),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError(format!("cannot resolve {name}: {e}"))),
        }
    }

    /// The TXT values published at `name` (each record's strings joined, as
    /// RFC 7208 reads them); empty when there are none.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        match self.resolver.txt_lookup(fqdn(name)).await {
            Ok(found) => Ok(found
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError(format!("cannot look up TXT {name}: {e}"))),
        }
    }
}

/// Names are absolute: no search domain is ever appended to a tenant's.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

/// The resolver the worker's client for tenant webhooks connects through:
/// it resolves the name itself and hands reqwest only addresses that passed
/// `notify::address_problem`, failing the whole lookup if any address the
/// name has is refused (a name with one private address among public ones
/// could be answered differently next time). reqwest connects to what it
/// is given, so there is no second resolution to race. Literal-IP URLs
/// never reach a resolver; the worker checks those with the same rule
/// through `notify::webhook_url_problem`.
#[derive(Debug, Clone)]
pub struct CheckedResolver(pub Dns);

/// A name that resolves to an address a tenant may not reach.
#[derive(Debug)]
pub struct Refused {
    pub name: String,
    pub address: IpAddr,
    pub why: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {} ({}): refused",
            self.name, self.address, self.why
        )
    }
}

impl std::error::Error for Refused {}

impl CheckedResolver {
    /// The addresses of `name`, every one of them allowed, or why not.
    pub async fn checked(
        &self,
        name: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addresses = self.0.addresses(name).await?;
        if addresses.is_empty() {
            return Err(Box::new(DnsError(format!("{name} has no address"))));
        }
        for &address in &addresses {
            if let Some(why) = regentra_core::notify::address_problem(address) {
                return Err(Box::new(Refused {
                    name: name.to_owned(),
                    address,
                    why,
                }));
            }
        }
        Ok(addresses)
    }
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addresses = this.checked(name.as_str()).await?;
            let addrs: reqwest::dns::Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}
