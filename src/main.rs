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
    // One thread runs everything: the provider's work is waiting on servers and on Terraform
    // (its own CPU time in a 200-resource plan is ~0.1 s), and starting no worker threads
    // (nor probing the cgroup for the core count) keeps start-up and memory small.
    let rt = match tokio::runtime::Builder::new_current_thread()
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
