//! Decode speed of a local model: `cargo run --release -p lore-llm
//! --example speed -- MODEL.gguf [TOKENS]` prints time to first token and
//! decode tokens/s for a short and a long prompt (greedy).

use lore_llm::{Generator, Sampling};

// As in the `lore` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(clippy::print_stdout)] // a benchmark's report
fn main() {
    lore_llm::pin_thread_count();
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: speed MODEL.gguf [TOKENS]");
    let tokens: usize = args.next().map_or(128, |n| n.parse().expect("TOKENS"));
    let started = std::time::Instant::now();
    let mut g = Generator::load(std::path::Path::new(&path)).expect("load");
    println!("load {:.2} s", started.elapsed().as_secs_f64());
    let long = "def handler(request):\n    return request.user\n\n".repeat(40);
    for (name, question) in [
        ("short", "What is the capital of France?".to_owned()),
        ("long", format!("{long}\nWhat does handler return?")),
    ] {
        let done = g
            .chat(
                &[("user", &question)],
                tokens,
                Sampling {
                    ignore_stops: true,
                    ..Sampling::default()
                },
                &mut |_| {},
            )
            .expect("generate");
        println!(
            "{name}: prompt {} tokens, first token {:.0} ms, {} tokens, decode {:.1} tokens/s",
            done.prompt_tokens,
            done.first_token_ms,
            done.tokens.len(),
            done.decode_tokens_per_s()
        );
    }
}
