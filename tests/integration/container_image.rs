//! The container image, checked statically (a clean machine has no container tool):
//! the Dockerfile builds from Cargo.lock, runs as a non-root user with the state
//! directory and reports as volumes, and the README's Kubernetes example uses the image
//! its build line makes.

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Dockerfile's instructions, continuation lines joined and comments dropped, as
/// (stage index, KEYWORD, arguments).
fn instructions(text: &str) -> Vec<(usize, String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stage = 0;
    let mut out = Vec::new();
    for line in joined {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "FROM" {
            stage += 1;
        }
        out.push((stage, keyword, args.trim().to_owned()));
    }
    out
}

fn dockerfile() -> Vec<(usize, String, String)> {
    instructions(&std::fs::read_to_string(format!("{ROOT}/Dockerfile")).unwrap())
}

#[test]
fn the_dockerfile_builds_from_the_lock_file_into_a_small_non_root_image() {
    let all = dockerfile();
    let stages = all.iter().map(|(s, _, _)| *s).max().unwrap();
    assert!(stages >= 2, "multi-stage: a builder and a runtime stage");
    let of = |stage: usize, keyword: &str| -> Vec<String> {
        all.iter()
            .filter(|(s, k, _)| *s == stage && k == keyword)
            .map(|(_, _, a)| a.clone())
            .collect()
    };
    // Base images by their plain names: no registry host in front of them.
    for from in (1..=stages).flat_map(|s| of(s, "FROM")) {
        let image = from.split_whitespace().next().unwrap();
        let first = image.split('/').next().unwrap();
        assert!(
            !image.contains('/') || !(first.contains('.') || first.contains(':')),
            "{image}: name base images without a registry host"
        );
    }
    let builder = of(1, "RUN").join("\n");
    assert!(
        builder.contains("cargo build --release --locked"),
        "the builder builds from Cargo.lock: {builder}"
    );

    let last = stages;
    assert!(
        of(last, "FROM")[0].starts_with("debian:bookworm-slim"),
        "a small runtime image: {:?}",
        of(last, "FROM")
    );
    let runtime = of(last, "RUN").join("\n");
    for package in ["ca-certificates", "tzdata"] {
        assert!(
            runtime.contains("apt-get install") && runtime.contains(package),
            "the runtime installs {package}: {runtime}"
        );
    }
    assert!(
        of(last, "COPY").iter().any(|c| c.starts_with("--from=")),
        "the runtime copies the binary from the builder"
    );

    let user = of(last, "USER");
    let user = user.last().expect("the runtime stage sets USER");
    let name = user.split(':').next().unwrap();
    assert!(
        !name.is_empty() && name != "root" && name != "0",
        "the image runs as a non-root user, not {user}"
    );
    assert!(
        name.chars().all(|c| c.is_ascii_digit()),
        "a numeric user, which Kubernetes' runAsNonRoot can check: {user}"
    );

    let env = of(last, "ENV").join(" ");
    let state_dir = env
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("EMCEE_STATE_DIR="))
        .expect("ENV EMCEE_STATE_DIR=... in the runtime stage");
    let volumes = of(last, "VOLUME").join(" ");
    assert!(
        volumes.contains(&format!("\"{state_dir}\"")),
        "the state directory {state_dir} is a volume: {volumes}"
    );
    assert!(
        volumes.contains("\"/reports\""),
        "the reports are a volume: {volumes}"
    );
    assert_eq!(
        of(last, "ENTRYPOINT"),
        [r#"["emcee"]"#],
        "the image runs emcee"
    );

    let ignore = std::fs::read_to_string(format!("{ROOT}/.dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim_end_matches('/') == "target"),
        "build output stays out of the build context"
    );
}

#[test]
fn the_readme_cronjob_uses_the_image_the_readme_builds() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let built: Vec<&str> = readme
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("docker build -t ")?;
            let (name, context) = rest.split_once(' ')?;
            (context.trim() == ".").then_some(name)
        })
        .collect();
    assert!(
        !built.is_empty(),
        "the README documents `docker build -t NAME .`"
    );
    let cronjob = readme
        .split("```")
        .find(|block| block.contains("kind: CronJob"))
        .expect("the README has a CronJob example");
    let images: Vec<&str> = cronjob
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image:"))
        .map(str::trim)
        .collect();
    assert!(!images.is_empty(), "the CronJob names an image");
    for image in images {
        assert!(
            built.contains(&image),
            "the CronJob's image {image} is the one the README builds: {built:?}"
        );
    }
    // The volumes the image declares are mounted, so locks, journals and reports
    // outlive the pod.
    for path in ["/var/lib/emcee", "/reports"] {
        assert!(
            cronjob.contains(&format!("mountPath: {path}")),
            "the CronJob mounts {path}"
        );
    }
}
