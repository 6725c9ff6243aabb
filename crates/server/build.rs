// The web app is embedded from web/dist; the folder must exist to compile, even before the
// first front-end build (the server then explains how to build it).
//
// scripts/start.sh builds the web app while cargo compiles the dependencies; it sets
// IIDE_WEB_BUILDING to a file that exists until web/dist is complete (and says `failed` if
// that build failed), and this script waits for it, so the crate embeds a whole web app. The
// variable is deliberately not a rerun trigger: it changes nothing in what is built.
use std::time::{Duration, Instant};

fn main() {
    if let Some(marker) = std::env::var_os("IIDE_WEB_BUILDING") {
        let began = Instant::now();
        while let Ok(state) = std::fs::read_to_string(&marker) {
            if state.trim() == "failed" {
                panic!("the web app's build failed (see its output above)");
            }
            if began.elapsed() > Duration::from_secs(30 * 60) {
                panic!("waited 30 minutes for the web app's build");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    if !dist.exists() {
        let _ = std::fs::create_dir_all(&dist);
    }
    println!("cargo:rerun-if-changed=../../web/dist");
    println!("cargo:rerun-if-changed=migrations");
}
