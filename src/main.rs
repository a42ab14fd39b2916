//! terraform-provider-cicd: started by Terraform / OpenTofu as a plugin.

use cicd::PLUGIN;
use tfplugin::handshake::{self, ServeOpts, Transport};
use tfplugin::logging;

fn main() {
    let mut opts = ServeOpts::new(PLUGIN);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--debug" | "-debug" => opts.debug = true,
            "--tcp" => opts.transport = Transport::Tcp,
            "--version" | "-version" => {
                println!("terraform-provider-cicd {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "--help" | "-h" | "-help" => {
                eprintln!("{}", PLUGIN.usage);
                eprintln!("\nOptions:\n  --debug    serve without TLS and print TF_REATTACH_PROVIDERS\n  --tcp      listen on 127.0.0.1 instead of a unix socket\n  --version  print the version");
                return;
            }
            other => {
                eprintln!("unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    if std::env::var("PLUGIN_TRANSPORT").is_ok_and(|v| v == "tcp") {
        opts.transport = Transport::Tcp;
    }
    if !opts.debug {
        if let Err(e) = handshake::check_environment() {
            match e {
                handshake::HandshakeError::NotLaunchedByTerraform => {
                    eprintln!("{}", PLUGIN.usage)
                }
                other => eprintln!("{other}"),
            }
            std::process::exit(1);
        }
    }
    // One TLS crypto provider for the whole process (reqwest, kube-rs and the plugin server).
    tfplugin::tls::install_default();
    logging::init("cicd", "TF_LOG_PROVIDER_CICD");
    tracing::trace!("starting");
    // A few workers are plenty for a plugin (its work is waiting on servers); one per core
    // would start dozens of threads on a big machine before the handshake line.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let provider = cicd::provider();
    let result = rt.block_on(handshake::serve(provider, opts));
    if let Err(e) = result {
        tracing::error!(error = %e, "provider stopped with an error");
        eprintln!("terraform-provider-cicd: {e}");
        std::process::exit(1);
    }
    // Exit at once: background tasks (accept loop, open connections) are not waited for.
    std::process::exit(0);
}
