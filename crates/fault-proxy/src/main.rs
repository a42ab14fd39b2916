//! `fault-proxy --upstream URL|HOST:PORT [--mode http|tcp] [--seed N] [--rules JSON]`
//!
//! Prints `{"listen":"127.0.0.1:PORT"}` on stdout, then reads commands from stdin, one per
//! line: a JSON array of rules replaces the rules; `stats` prints the counters as one JSON
//! line; `reset` zeroes them. The proxy exits at the end of stdin.

use fault_proxy::{addr_of, Mode, Proxy, Rule};
use std::io::BufRead;

fn main() {
    if let Err(e) = run() {
        eprintln!("fault-proxy: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut upstream = None;
    let mut mode = Mode::Http;
    let mut seed = 1u64;
    let mut rules: Vec<Rule> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--upstream" => {
                let v = val()?;
                upstream = Some(addr_of(&v).ok_or(format!("not an address: {v}"))?);
            }
            "--mode" => {
                mode = match val()?.as_str() {
                    "http" => Mode::Http,
                    "tcp" => Mode::Tcp,
                    m => return Err(format!("unknown mode {m}")),
                }
            }
            "--seed" => seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--rules" => {
                rules = serde_json::from_str(&val()?).map_err(|e| format!("--rules: {e}"))?
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let upstream = upstream.ok_or("--upstream is required")?;
    let p = Proxy::spawn(upstream, mode, seed).map_err(|e| e.to_string())?;
    p.set_rules(rules);
    println!("{}", serde_json::json!({"listen": p.addr().to_string()}));
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        match line.trim() {
            "" => {}
            "stats" => println!("{}", serde_json::to_string(&p.stats()).unwrap_or_default()),
            "reset" => p.reset_stats(),
            json => match serde_json::from_str::<Vec<Rule>>(json) {
                Ok(r) => p.set_rules(r),
                Err(e) => eprintln!("fault-proxy: bad rules: {e}"),
            },
        }
    }
    Ok(())
}
