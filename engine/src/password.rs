//! Argon2 password hashes, made and checked with a bound on what they cost the server.
//!
//! One check takes about 19 MiB and tens of milliseconds on purpose. At most one runs per
//! core, each in a block of memory kept for reuse (so bursts do not leave the allocator
//! holding a fresh 19 MiB per thread), at most [`MAX_WAITING`] more wait for a turn,
//! and none waits longer than [`WAIT`]; beyond that the answer is "busy".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

/// Checks that may wait for a core; more are refused at once.
pub const MAX_WAITING: usize = 16;
/// How long a check waits for a core before giving up as busy.
pub const WAIT: Duration = Duration::from_secs(5);

/// Why hashing or checking failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("too many password checks at once")]
    Busy,
    #[error("password hashing: {0}")]
    Hash(String),
}

/// The password hasher and checker of one server.
#[derive(Clone)]
pub struct Passwords {
    /// One permit per core: the hashes being computed now.
    turns: Arc<Semaphore>,
    /// The hashes being computed or waiting for a core.
    queued: Arc<Semaphore>,
    /// Reusable argon2 memory, one block set per turn.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Default for Passwords {
    fn default() -> Passwords {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords {
            turns: Arc::new(Semaphore::new(cores)),
            queued: Arc::new(Semaphore::new(cores + MAX_WAITING)),
            memory: Arc::default(),
        }
    }
}

impl Passwords {
    /// Whether `password` matches the PHC string `hash`.
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, PasswordError> {
        self.bounded(move |memory| verify_with(&hash, password.as_bytes(), memory))
            .await
    }

    /// A new PHC string for `password`, with a random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.bounded(move |_| {
            let mut salt = [0u8; 16];
            rand::rng().fill_bytes(&mut salt);
            let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Runs `work` off the async workers, in turn, with a reusable block of memory.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, String> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _queued = self.queued.try_acquire().map_err(|_| PasswordError::Busy)?;
        let _turn = tokio::time::timeout(WAIT, self.turns.acquire())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Busy)?;
        let pool = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let mut memory = take(&pool);
            let result = work(&mut memory);
            pool.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
            result
        })
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
        .map_err(PasswordError::Hash)
    }
}

fn take(pool: &Mutex<Vec<Vec<Block>>>) -> Vec<Block> {
    pool.lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default()
}

/// Recomputes the hash of `password` with `hash`'s algorithm, parameters and salt in
/// `memory`, and compares in constant time.
fn verify_with(hash: &str, password: &[u8], memory: &mut Vec<Block>) -> Result<bool, String> {
    let parsed = PasswordHash::new(hash).map_err(|e| e.to_string())?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| e.to_string())?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| e.to_string())?;
    let expected = parsed.hash.ok_or("the stored hash has no output")?;
    let salt = parsed.salt.ok_or("the stored hash has no salt")?;
    let mut salt_bytes = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| e.to_string())?;
    memory.resize(params.block_count(), Block::new());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .map_err(|e| e.to_string())?;
    Ok(out.len() == expected.len()
        && out
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::default();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(passwords
            .verify(hash.clone(), "correct horse".into())
            .await
            .unwrap());
        assert!(!passwords.verify(hash, "wrong horse".into()).await.unwrap());
        // Interoperates with the crate's own verifier.
        let theirs = Argon2::default()
            .hash_password(b"pw", &SaltString::encode_b64(&[7u8; 16]).unwrap())
            .unwrap()
            .to_string();
        assert!(passwords.verify(theirs, "pw".into()).await.unwrap());
        assert!(passwords
            .verify("garbage".into(), "pw".into())
            .await
            .is_err());
    }

    #[tokio::test]
    async fn beyond_the_queue_checks_are_refused_as_busy() {
        let passwords = Passwords::default();
        let hash = passwords.hash("pw".into()).await.unwrap();
        let burst = (0..64).map(|_| passwords.verify(hash.clone(), "x".into()));
        let results = futures::future::join_all(burst).await;
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(PasswordError::Busy))));
        assert!(results.iter().any(|r| matches!(r, Ok(false))));
        let kept = passwords.memory.lock().unwrap().len();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(kept <= cores, "{kept} memory blocks kept for {cores} cores");
    }
}
