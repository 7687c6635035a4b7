//! The next line of a file as the model writes it: `cargo run --release -p
//! lore-llm --example complete -- MODEL.gguf FILE LINE` (the 30 lines
//! before LINE are the prompt; greedy, up to the end of the line).

use lore_llm::{Generator, Sampling};

#[allow(clippy::print_stdout)] // a tool's output
fn main() {
    lore_llm::pin_thread_count();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, file, line] = args.as_slice() else {
        panic!("usage: complete MODEL.gguf FILE LINE");
    };
    let line: usize = line.parse().expect("LINE");
    let text = std::fs::read_to_string(file).expect("FILE");
    let lines: Vec<&str> = text.lines().collect();
    let from = line.saturating_sub(31);
    // No newline at the end: the model writes the line break with the next
    // line's indentation, as the tokenizer joins them.
    let prompt = lines[from..line - 1].join("\n");
    let mut g = Generator::load(std::path::Path::new(model)).expect("load");
    let sampling = Sampling {
        stop_after_lines: 1,
        ..Sampling::default()
    };
    let done = g
        .complete(&prompt, 48, sampling, &mut |_| {})
        .expect("generate");
    println!("expected: {:?}", lines[line - 1]);
    println!("written:  {:?}", done.text);
}
