//! Compiles the protocol definitions in `proto/` without a system `protoc`:
//! `protox` parses them into a descriptor set, `tonic-prost-build` generates
//! the message types plus gRPC server and client code.

use std::io;

const PROTOS: &[&str] = &[
    "proto/tfplugin6.proto",
    "proto/grpc_controller.proto",
    "proto/grpc_stdio.proto",
    "proto/grpc_broker.proto",
];

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, ["proto"])
        .map_err(|e| io::Error::other(format!("protox: {e:?}")))?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // RPCs we do not implement answer UNIMPLEMENTED (Terraform calls them only when used).
        .generate_default_stubs(true)
        // Generate google.protobuf.{Timestamp,Empty} locally so that no
        // runtime dependency on prost-types is needed.
        .compile_well_known_types(true)
        .compile_fds(fds)
}
