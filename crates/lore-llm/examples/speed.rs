//! Decode speed of a local model: `cargo run --release -p lore-llm
//! --example speed -- MODEL.gguf [TOKENS]` prints time to first token and
//! decode tokens/s for a short and a long prompt (greedy).
//! `--swap MODEL.gguf ADAPTER_DIR` prints how long putting an adapter on
//! the loaded model takes (loading its file and attaching it; the median
//! of five).

use lore_llm::{Generator, Sampling};

// As in the `lore` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(clippy::print_stdout)] // a benchmark's report
fn main() {
    lore_llm::pin_thread_count();
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "--swap") {
        args.next();
        let model = args
            .next()
            .expect("usage: speed --swap MODEL.gguf ADAPTER_DIR");
        let dir = args
            .next()
            .expect("usage: speed --swap MODEL.gguf ADAPTER_DIR");
        let mut g = Generator::load(std::path::Path::new(&model)).expect("load");
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let started = std::time::Instant::now();
                let adapter =
                    lore_llm::lora::Adapter::load(std::path::Path::new(&dir)).expect("adapter");
                adapter.attach(g.model_mut()).expect("attach");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!("{:.1} ms", times[2]);
        return;
    }
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
