//! Compiles proto/a2a.proto into a descriptor set (pure Rust, no protoc) for the gRPC binding.

fn main() {
    println!("cargo:rerun-if-changed=proto/a2a.proto");
    let set = match protox::compile(["a2a.proto"], ["proto"]) {
        Ok(s) => s,
        Err(e) => panic!("proto/a2a.proto does not compile: {e:?}"),
    };
    let bytes = prost_reflect::prost::Message::encode_to_vec(&set);
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(std::path::Path::new(&out).join("a2a.bin"), bytes).expect("write descriptors");
}
