//! Identifiers the emulator hands out — meeting ids, pids, tokens, phone numbers —
//! drawn from one seeded generator so that a run with the same seed and the same
//! calls sees the same identifiers.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

#[derive(Debug, Clone)]
pub(super) struct Ids {
    rng: ChaCha8Rng,
}

impl Ids {
    pub(super) fn new(seed: u64) -> Self {
        Ids {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn hex(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes * 2);
        for _ in 0..bytes {
            let byte = self.rng.next_u32() as u8;
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// A participant id: 32 hex characters, as the real service's pids.
    pub(super) fn pid(&mut self) -> String {
        self.hex(16)
    }

    /// An opaque control token.
    pub(super) fn token(&mut self) -> String {
        self.hex(24)
    }

    /// A 9-digit conference id not starting with 0.
    pub(super) fn meeting_id(&mut self) -> String {
        (100_000_000 + self.rng.next_u64() % 900_000_000).to_string()
    }

    /// A placeholder phone number for participants the seed gives none.
    pub(super) fn phone(&mut self) -> String {
        format!("+9900{:08}", self.rng.next_u64() % 100_000_000)
    }
}
