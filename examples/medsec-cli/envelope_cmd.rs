//! `keyring`, `recipient`, `seal`, `open`, `rewrap`: envelope encryption from the command line.
//!
//! File formats (keyring file, recipient key files) are specified in
//! `docs/envelope-format.md`.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use medsec_envelope::provider::TAG_LEN;
use medsec_envelope::{
    Context, Error, KeyId, Keyring, Limits, Opener, OpeningReader, OsRng, RecipientPublicKey,
    RecipientSecretKey, Sealer, SealingWriter, Suite, SuitePolicy, Unwrap, UnwrapAny,
    DEFAULT_CHUNK_SIZE,
};
use zeroize::Zeroizing;

use crate::io::{write_file_atomically, write_output, Failure, Outcome, TempFile};

#[derive(Debug, Subcommand)]
pub enum KeyringCommand {
    /// Create a new keyring with one primary key-encryption key.
    New {
        /// Keyring file to create (refuses to overwrite an existing file).
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a new primary key; the previous primary becomes decrypt-only.
    Rotate {
        #[arg(long)]
        keyring: PathBuf,
    },
    /// List key ids and states.
    List {
        #[arg(long)]
        keyring: PathBuf,
    },
    /// Destroy a key (crypto-shredding): data wrapped only under it becomes unrecoverable.
    Destroy {
        #[arg(long)]
        keyring: PathBuf,
        /// Key id in hex, as `list` prints it.
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecipientCommand {
    /// Create an HPKE (X25519) recipient key pair: FILE (secret) and FILE.pub (public).
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// Key id written into envelopes (1 to 32 bytes of UTF-8).
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// Keyring whose primary wraps the data key.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Public-key recipient file (`recipient keygen` writes FILE.pub); repeatable.
    #[arg(long = "recipient")]
    recipients: Vec<PathBuf>,
    /// Context entry bound into the envelope but not stored in it; repeatable.
    ///
    /// VALUE is taken as its UTF-8 bytes; for other bytes (NUL, non-UTF-8) use --context-hex.
    /// A KEY that starts with '-' needs the one-argument form --context=KEY=VALUE.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// As --context, with the value's bytes as hex digits (even count, either case; nothing
    /// after '=' for an empty value); repeatable. A key may appear once across all the
    /// context options.
    #[arg(long = "context-hex", value_name = "KEY=HEX")]
    context_hex: Vec<String>,
    /// Context entry bound and also stored in the clear header; repeatable.
    ///
    /// KEY and VALUE as for --context (--stored-context=KEY=VALUE for a KEY starting with '-').
    #[arg(long = "stored-context", value_name = "KEY=VALUE")]
    stored_context: Vec<String>,
    /// As --stored-context, with the value's bytes as hex digits (as --context-hex).
    #[arg(long = "stored-context-hex", value_name = "KEY=HEX")]
    stored_context_hex: Vec<String>,
    /// Bound-only context entries from a file, so that values stay out of the command line;
    /// repeatable. One entry per line: KEY=VALUE (VALUE: the UTF-8 text to the end of the
    /// line) or KEY:HEX (VALUE: the bytes the hex digits spell). Lines end with LF; empty lines
    /// are skipped; nothing is trimmed; a CR anywhere, a line without '=' or ':' or a file over
    /// 65536 bytes is refused (exit 2, the line not echoed).
    #[arg(long = "context-file", value_name = "PATH")]
    context_file: Vec<PathBuf>,
    /// As --context-file, for entries that are also stored in the clear header.
    #[arg(long = "stored-context-file", value_name = "PATH")]
    stored_context_file: Vec<PathBuf>,
    /// Suite: aes-256-gcm-siv (default) or aes-256-gcm.
    #[arg(long, default_value = "aes-256-gcm-siv")]
    suite: String,
    /// Write a streamed envelope (bounded memory for any size). Without it the envelope is
    /// one-shot: the whole input is read into memory, at most 256 MiB (268435456 bytes).
    #[arg(long)]
    stream: bool,
    /// Chunk size for --stream, 4096 to 65536 (default 16384). Only with --stream.
    #[arg(long, requires = "stream")]
    chunk_size: Option<u32>,
    #[arg(long = "in")]
    input: Option<PathBuf>,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Recipient secret key file; repeatable.
    #[arg(long = "recipient-key")]
    recipient_keys: Vec<PathBuf>,
    /// Expected context entry (every sealed entry, stored or not); repeatable.
    ///
    /// VALUE is taken as its UTF-8 bytes; for other bytes (NUL, non-UTF-8) use --context-hex.
    /// A KEY that starts with '-' needs the one-argument form --context=KEY=VALUE.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// As --context, with the value's bytes as hex digits (even count, either case; nothing
    /// after '=' for an empty value); repeatable. A key may appear once across all the
    /// context options.
    #[arg(long = "context-hex", value_name = "KEY=HEX")]
    context_hex: Vec<String>,
    /// Expected context entries from a file (lines KEY=VALUE or KEY:HEX, as for seal's
    /// --context-file), so that values stay out of the command line; repeatable.
    #[arg(long = "context-file", value_name = "PATH")]
    context_file: Vec<PathBuf>,
    /// Accepted suites: all (default), approved (AES-256-GCM only), gcm-siv (AES-256-GCM-SIV
    /// only). An envelope of another suite does not verify (exit 1).
    #[arg(long, default_value = "all")]
    suite_policy: String,
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Output file, written only once the whole envelope verified. Without it, a streamed
    /// envelope's chunks go to stdout as each one verifies: if a later chunk fails, the exit
    /// code is 1 and stdout holds an incomplete prefix, so always check the exit code.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("retired").args(["retire", "retire_hex"])))]
pub struct RewrapArgs {
    /// Keyring: without --to-recipient or --add-recipient, its primary replaces its slots
    /// (the data key unwrapped by the keyring or a --recipient-key); with either, it only
    /// unwraps the data key and its slots are kept as they are.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Recipient secret key file that may unwrap the data key; repeatable.
    #[arg(long = "recipient-key")]
    recipient_keys: Vec<PathBuf>,
    /// Rotate a public-key recipient: the successor's public key file (`recipient keygen`
    /// writes FILE.pub). Needs --retire or --retire-hex.
    #[arg(long = "to-recipient", requires = "retired")]
    to_recipient: Option<PathBuf>,
    /// Key id of the public-key recipient whose slots --to-recipient replaces, as text: its
    /// UTF-8 bytes (1 to 32), as `recipient keygen --id` takes it.
    #[arg(long, value_name = "ID", requires = "to_recipient")]
    retire: Option<String>,
    /// As --retire, with the key id as hex digits (1 to 32 bytes, either case), as key files
    /// and `keyring list` print ids; for ids that are not UTF-8 text.
    #[arg(long = "retire-hex", value_name = "ID_HEX", requires = "to_recipient")]
    retire_hex: Option<String>,
    /// Add a public-key recipient (FILE.pub from `recipient keygen`) after the existing slots,
    /// unwrapping with --keyring and/or --recipient-key.
    #[arg(long = "add-recipient", conflicts_with_all = ["to_recipient", "retired"])]
    add_recipient: Option<PathBuf>,
    /// Expected context entry (every sealed entry, stored or not); repeatable.
    ///
    /// VALUE is taken as its UTF-8 bytes; for other bytes (NUL, non-UTF-8) use --context-hex.
    /// A KEY that starts with '-' needs the one-argument form --context=KEY=VALUE.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// As --context, with the value's bytes as hex digits (even count, either case; nothing
    /// after '=' for an empty value); repeatable. A key may appear once across all the
    /// context options.
    #[arg(long = "context-hex", value_name = "KEY=HEX")]
    context_hex: Vec<String>,
    /// Expected context entries from a file (lines KEY=VALUE or KEY:HEX, as for seal's
    /// --context-file), so that values stay out of the command line; repeatable.
    #[arg(long = "context-file", value_name = "PATH")]
    context_file: Vec<PathBuf>,
    #[arg(long = "in")]
    input: Option<PathBuf>,
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn keyring(cmd: KeyringCommand) -> Outcome {
    let mut rng = OsRng::default();
    match cmd {
        KeyringCommand::New { out } => {
            if out.exists() {
                return Err(Failure::usage(format!("{}: already exists", out.display())));
            }
            let keyring = Keyring::generate(&mut rng);
            write_file_atomically(&out, &keyring.to_bytes(), true)?;
            println!("{}", primary_hex(&keyring));
            Ok(())
        }
        KeyringCommand::Rotate { keyring: path } => {
            let mut keyring = load_keyring(&path)?;
            keyring.rotate(&mut rng).map_err(config)?;
            write_file_atomically(&path, &keyring.to_bytes(), true)?;
            println!("{}", primary_hex(&keyring));
            Ok(())
        }
        KeyringCommand::List { keyring: path } => {
            let keyring = load_keyring(&path)?;
            for (id, state) in keyring.keys() {
                let state = match state {
                    medsec_envelope::KeyState::Primary => "primary",
                    medsec_envelope::KeyState::DecryptOnly => "decrypt-only",
                    medsec_envelope::KeyState::Destroyed => "destroyed",
                };
                println!("{id} {state}");
            }
            Ok(())
        }
        KeyringCommand::Destroy {
            keyring: path,
            key_id,
        } => {
            let mut keyring = load_keyring(&path)?;
            let id = parse_key_id_hex(&key_id)?;
            keyring.destroy(&id).map_err(config)?;
            write_file_atomically(&path, &keyring.to_bytes(), true)
        }
    }
}

pub fn recipient(cmd: RecipientCommand) -> Outcome {
    match cmd {
        RecipientCommand::Keygen { out, id } => {
            let id = KeyId::new(id.as_bytes()).map_err(config)?;
            let pub_path = with_suffix(&out, ".pub");
            if out.exists() || pub_path.exists() {
                return Err(Failure::usage(format!("{}: already exists", out.display())));
            }
            let sk = RecipientSecretKey::generate(id, &mut OsRng::default());
            // Every buffer that holds the secret (raw, hex, the file line) is wiped on drop and
            // sized up front, so none is reallocated.
            let mut secret_hex = Zeroizing::new([0u8; 64]);
            hex::encode_to_slice(&sk.to_bytes()[..], &mut secret_hex[..])
                .map_err(|e| Failure::usage(e.to_string()))?;
            let secret_hex =
                std::str::from_utf8(&secret_hex[..]).map_err(|e| Failure::usage(e.to_string()))?;
            let id_hex = hex::encode(id.as_bytes());
            let mut secret = Zeroizing::new(String::with_capacity(
                [SECRET_KEY_LABEL, &id_hex, secret_hex]
                    .iter()
                    .fold(3, |n: usize, part| n.saturating_add(part.len())),
            ));
            for part in [SECRET_KEY_LABEL, " ", &id_hex, " ", secret_hex, "\n"] {
                secret.push_str(part);
            }
            let public = format!(
                "{PUBLIC_KEY_LABEL} {} {}\n",
                hex::encode(id.as_bytes()),
                hex::encode(sk.public_key().to_bytes())
            );
            write_file_atomically(&out, secret.as_bytes(), true)?;
            write_file_atomically(&pub_path, public.as_bytes(), false)
        }
    }
}

pub fn seal(args: SealArgs) -> Outcome {
    let suite = Suite::from_name(&args.suite).map_err(config)?;
    let keyring = args.keyring.as_deref().map(load_keyring).transpose()?;
    let publics = args
        .recipients
        .iter()
        .map(|p| load_public(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entries = parse_entries(&args.context, &args.context_hex)?;
    entries.extend(read_context_files(&args.context_file)?);
    let mut stored = parse_entries(&args.stored_context, &args.stored_context_hex)?;
    stored.extend(read_context_files(&args.stored_context_file)?);
    let context = build_context(&entries, &stored)?;
    let mut sealer = Sealer::new().suite(suite).context(context);
    if let Some(k) = &keyring {
        sealer = sealer.key_wrap(k).map_err(config)?;
    }
    for pk in &publics {
        sealer = sealer.recipient(pk).map_err(config)?;
    }
    if keyring.is_none() && publics.is_empty() {
        return Err(Failure::usage("seal needs --keyring and/or --recipient"));
    }
    let mut rng = OsRng::default();
    if args.stream {
        return seal_stream(
            &sealer,
            args.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
            args.input.as_deref(),
            args.out.as_deref(),
        );
    }
    let mut input = open_input(args.input.as_deref())?;
    let plaintext =
        read_wiping(&mut input, Limits::DEFAULT_MAX_ONE_SHOT_LEN)?.ok_or_else(|| {
            Failure::usage("input is larger than the one-shot limit (256 MiB): use --stream")
        })?;
    let sealed = sealer.seal(&plaintext, &mut rng).map_err(config)?;
    write_output(args.out.as_deref(), &sealed)
}

pub fn open(args: OpenArgs) -> Outcome {
    let policy = match args.suite_policy.as_str() {
        "all" => SuitePolicy::ALL,
        "approved" => SuitePolicy::APPROVED_ONLY,
        "gcm-siv" => SuitePolicy::GCM_SIV_ONLY,
        _ => {
            return Err(Failure::usage(
                "--suite-policy must be all, approved or gcm-siv",
            ))
        }
    };
    let loaded = UnwrapKeys::load(args.keyring.as_deref(), &args.recipient_keys)?;
    if loaded.is_empty() {
        return Err(Failure::usage(
            "open needs --keyring and/or --recipient-key",
        ));
    }
    let keys = loaded.as_unwrap();
    let any = UnwrapAny(&keys);
    let mut entries = parse_entries(&args.context, &args.context_hex)?;
    entries.extend(read_context_files(&args.context_file)?);
    let context = build_context(&entries, &[])?;
    let opener = Opener::new(&any).context(context).policy(policy);

    // Read the header first to learn whether the envelope is streamed.
    let mut input = open_input(args.input.as_deref())?;
    let head = read_header(&mut input)?;
    let view =
        medsec_envelope::HeaderView::parse(&head, &Limits::DEFAULT).map_err(verify_failure)?;
    let streamed = view.chunk_size().is_some();
    // The most a one-shot envelope with this header can hold; input beyond it is not read.
    let max_len = u64::try_from(head.len())
        .ok()
        .and_then(|n| n.checked_add(Limits::DEFAULT_MAX_ONE_SHOT_LEN))
        .and_then(|n| n.checked_add(TAG_LEN as u64))
        .ok_or_else(|| verify_failure(Error::DidNotVerify))?;
    let mut rest = Cursor::new(head).chain(input);

    if streamed {
        let reader = OpeningReader::new(&opener, rest).map_err(io_verify)?;
        return copy_verified(reader, args.out.as_deref());
    }
    let envelope =
        read_wiping(&mut rest, max_len)?.ok_or_else(|| verify_failure(Error::DidNotVerify))?;
    let plaintext = opener.open(&envelope).map_err(verify_failure)?;
    match args.out.as_deref() {
        // Decrypted patient data: readable by the owner only.
        Some(path) => write_file_atomically(path, &plaintext, true),
        None => write_output(None, &plaintext),
    }
}

pub fn rewrap(args: RewrapArgs) -> Outcome {
    let loaded = UnwrapKeys::load(args.keyring.as_deref(), &args.recipient_keys)?;
    let successor = args.to_recipient.as_deref().map(load_public).transpose()?;
    let addition = args.add_recipient.as_deref().map(load_public).transpose()?;
    let retired = match (&args.retire, &args.retire_hex) {
        (Some(text), _) => Some(KeyId::new(text.as_bytes()).map_err(config)?),
        (None, Some(hex_id)) => Some(parse_key_id_hex(hex_id)?),
        (None, None) => None,
    };
    let keys = loaded.as_unwrap();
    let any = UnwrapAny(&keys);
    let mut entries = parse_entries(&args.context, &args.context_hex)?;
    entries.extend(read_context_files(&args.context_file)?);
    let context = build_context(&entries, &[])?;
    // Only the header is held in memory; the body is copied through byte for byte, so any
    // size (a streamed export included) re-wraps in bounded memory.
    let mut rng = OsRng::default();
    let rewrapped = match (&successor, &retired, &loaded.keyring) {
        (None, None, _) if addition.is_some() && !keys.is_empty() => {
            let mut input = open_input(args.input.as_deref())?;
            let header = read_header(&mut input)?;
            let opener = Opener::new(&any).context(context);
            addition
                .as_ref()
                .map_or(Err(Error::InvalidConfiguration("no recipient")), |pk| {
                    pk.add_to(&opener, &header, &mut rng)
                })
                .map(|h| (h, input))
        }
        (Some(successor), Some(retired), _) if !keys.is_empty() => {
            let mut input = open_input(args.input.as_deref())?;
            let header = read_header(&mut input)?;
            // Key ids are in the clear header: naming a retired key the envelope has no
            // public-key slot for is a usage mistake, reported as one (not as "no usable key").
            let names_retired = medsec_envelope::HeaderView::parse(&header, &Limits::DEFAULT)
                .map_err(verify_failure)?
                .recipients()
                .any(|s| {
                    s.kind() == medsec_envelope::SlotKind::Hpke && s.key_id() == retired.as_bytes()
                });
            if !names_retired {
                return Err(Failure::usage(
                    "--retire/--retire-hex: the envelope has no public-key recipient slot with \
                     that key id",
                ));
            }
            let opener = Opener::new(&any).context(context);
            successor
                .rewrap(&opener, &header, retired, &mut rng)
                .map(|h| (h, input))
        }
        (None, None, Some(keyring)) if addition.is_none() => {
            let mut input = open_input(args.input.as_deref())?;
            let header = read_header(&mut input)?;
            // The data key may come from any key given (the keyring, or a --recipient-key);
            // the new slot is wrapped under the keyring's primary.
            let opener = Opener::new(&any).context(context);
            keyring
                .rewrap(&opener, &header, &mut rng)
                .map(|h| (h, input))
        }
        _ => {
            return Err(Failure::usage(
                "rewrap needs --keyring (re-wrap under its primary); or --to-recipient and \
                 --retire or --retire-hex (rotate a public-key recipient), or --add-recipient, \
                 with --keyring and/or --recipient-key",
            ))
        }
    };
    let (new_header, mut input) = rewrapped.map_err(|e| match e {
        Error::DidNotVerify | Error::NoMatchingKey => verify_failure(e),
        other => config(other),
    })?;
    let mut sink = OutputSink::new(args.out.as_deref(), false)?;
    let copied = sink
        .write_all(&new_header)
        .and_then(|()| std::io::copy(&mut input, &mut sink));
    if let Err(e) = copied {
        sink.abandon();
        return Err(e.into());
    }
    sink.commit()
}

/// `--in FILE`, or stdin.
fn open_input(path: Option<&Path>) -> Result<Box<dyn Read>, Failure> {
    Ok(match path {
        Some(p) => Box::new(
            fs::File::open(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdin().lock()),
    })
}

/// Reads exactly one envelope header (at most the default header limit) from `input`.
fn read_header(input: &mut dyn Read) -> Result<Vec<u8>, Failure> {
    let short = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            verify_failure(Error::DidNotVerify)
        } else {
            Failure::from(e)
        }
    };
    let mut head = vec![0u8; 7];
    input.read_exact(&mut head).map_err(short)?;
    let header_len = medsec_envelope::peek_header_len(&head).map_err(verify_failure)?;
    if header_len < head.len() || header_len > Limits::DEFAULT.max_header_len() {
        return Err(verify_failure(Error::DidNotVerify));
    }
    head.resize(header_len, 0);
    input
        .read_exact(head.get_mut(7..).unwrap_or_default())
        .map_err(short)?;
    Ok(head)
}

/// Reads all of `input` if it holds at most `limit` bytes (`None` when it holds more; reading
/// stops there). The buffer is wiped when dropped, and every buffer it outgrows is wiped
/// before it is freed, so no copy of the input is left behind in freed memory.
fn read_wiping(input: &mut dyn Read, limit: u64) -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf = Zeroizing::new(Vec::with_capacity(64 * 1024));
    loop {
        if buf.len() == buf.capacity() {
            let grown = buf
                .capacity()
                .saturating_mul(2)
                .min(limit.saturating_add(1));
            if grown <= buf.len() {
                return Ok(None);
            }
            let mut bigger = Zeroizing::new(Vec::with_capacity(grown));
            bigger.extend_from_slice(&buf);
            // The outgrown buffer is wiped as it drops here.
            buf = bigger;
        }
        let start = buf.len();
        // Zero-fill only what one read can use (filling all spare room each time would be
        // quadratic).
        let room = buf.capacity().saturating_sub(start).min(64 * 1024);
        buf.resize(start.saturating_add(room), 0);
        let n = loop {
            match input.read(buf.get_mut(start..).unwrap_or_default()) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        buf.truncate(start.saturating_add(n));
        if buf.len() > limit {
            return Ok(None);
        }
        if n == 0 {
            return Ok(Some(buf));
        }
    }
}

const PUBLIC_KEY_LABEL: &str = "medsec-recipient-public-v1";
const SECRET_KEY_LABEL: &str = "medsec-recipient-secret-v1";

fn seal_stream<P: medsec_envelope::provider::AeadProvider>(
    sealer: &Sealer<'_, P>,
    chunk_size: u32,
    input: Option<&Path>,
    out: Option<&Path>,
) -> Outcome {
    let mut rng = OsRng::default();
    let mut reader: Box<dyn Read> = match input {
        Some(p) => Box::new(
            fs::File::open(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdin().lock()),
    };
    let sink = OutputSink::new(out, false)?;
    let mut writer = SealingWriter::new(sealer, chunk_size, sink, &mut rng)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        writer.write_all(buf.get(..n).unwrap_or_default())?;
    }
    writer.finish()?.commit()
}

/// Copies verified plaintext out; with `--out`, the file appears only once the whole stream
/// verified.
fn copy_verified<R: Read>(mut reader: R, out: Option<&Path>) -> Outcome {
    // Decrypted patient data: readable by the owner only.
    let mut sink = OutputSink::new(out, true)?;
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = sink.write_all(buf.get(..n).unwrap_or_default()) {
                    sink.abandon();
                    return Err(e.into());
                }
            }
            Err(e) => {
                sink.abandon();
                return Err(io_verify(e));
            }
        }
    }
    sink.commit()
}

/// Stdout, or a new temporary file renamed over `--out` on success ([`TempFile`]: removed
/// whenever the sink is dropped without [`OutputSink::commit`] succeeding).
enum OutputSink {
    Stdout(std::io::Stdout),
    File(TempFile),
}

impl OutputSink {
    /// `private`: the file is created readable by the owner only (decrypted data).
    fn new(out: Option<&Path>, private: bool) -> Result<Self, Failure> {
        Ok(match out {
            None => Self::Stdout(std::io::stdout()),
            Some(dest) => Self::File(TempFile::create(dest, private)?),
        })
    }

    fn commit(self) -> Outcome {
        match self {
            Self::Stdout(mut s) => {
                s.flush()?;
                Ok(())
            }
            Self::File(t) => Ok(t.commit()?),
        }
    }

    /// Gives up: the temporary file, if any, is deleted (as on any drop before a commit).
    fn abandon(self) {
        drop(self);
    }
}

impl Write for OutputSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Stdout(s) => s.write(buf),
            Self::File(t) => t.file().write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Stdout(s) => s.flush(),
            Self::File(t) => t.file().flush(),
        }
    }
}

fn load_keyring(path: &Path) -> Result<Keyring, Failure> {
    let bytes = Zeroizing::new(
        fs::read(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?,
    );
    Keyring::from_bytes(&bytes)
        .map_err(|_| Failure::usage(format!("{}: not a valid keyring file", path.display())))
}

fn load_key_line(path: &Path, label: &str) -> Result<(KeyId, Zeroizing<[u8; 32]>), Failure> {
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?,
    );
    let bad = || Failure::usage(format!("{}: not a {label} file", path.display()));
    let mut parts = text.split_ascii_whitespace();
    if parts.next() != Some(label) {
        return Err(bad());
    }
    let id = hex::decode(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
    let id = KeyId::new(&id).map_err(|_| bad())?;
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(parts.next().ok_or_else(bad)?, &mut key[..]).map_err(|_| bad())?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((id, key))
}

/// The keys `open` and `rewrap` unwrap data keys with: `--keyring` and `--recipient-key` files.
struct UnwrapKeys {
    keyring: Option<Keyring>,
    secrets: Vec<RecipientSecretKey>,
}

impl UnwrapKeys {
    fn load(keyring: Option<&Path>, recipient_keys: &[PathBuf]) -> Result<Self, Failure> {
        Ok(Self {
            keyring: keyring.map(load_keyring).transpose()?,
            secrets: recipient_keys
                .iter()
                .map(|p| load_secret(p))
                .collect::<Result<_, _>>()?,
        })
    }

    fn is_empty(&self) -> bool {
        self.keyring.is_none() && self.secrets.is_empty()
    }

    /// Keyring first, then the secret keys in command-line order.
    fn as_unwrap(&self) -> Vec<&dyn Unwrap> {
        let keyring = self.keyring.iter().map(|k| k as &dyn Unwrap);
        keyring
            .chain(self.secrets.iter().map(|s| s as &dyn Unwrap))
            .collect()
    }
}

fn load_public(path: &Path) -> Result<RecipientPublicKey, Failure> {
    let (id, key) = load_key_line(path, PUBLIC_KEY_LABEL)?;
    RecipientPublicKey::from_bytes(id, &key).map_err(config)
}

fn load_secret(path: &Path) -> Result<RecipientSecretKey, Failure> {
    let (id, key) = load_key_line(path, SECRET_KEY_LABEL)?;
    RecipientSecretKey::from_bytes(id, &key).map_err(config)
}

/// Context entries from `KEY=VALUE` arguments (the value's UTF-8 bytes) and `KEY=HEX`
/// arguments (the bytes the hex digits spell). Keys never contain `=`, so the first `=` ends the
/// key; key rules, duplicates and lengths are checked when the context is built.
fn parse_entries(plain: &[String], hex_form: &[String]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    fn split<'s>(a: &'s str, form: &str) -> Result<(&'s str, &'s str), Failure> {
        // Without '=' the argument may be a bare value (one that identifies a patient), so
        // the message repeats none of it.
        a.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "a context argument has no '=': each entry is {form}"
            ))
        })
    }
    let mut entries = Vec::new();
    for a in plain {
        let (k, v) = split(a, "KEY=VALUE")?;
        entries.push((k.to_owned(), v.as_bytes().to_vec()));
    }
    for a in hex_form {
        let (k, v) = split(a, "KEY=HEX")?;
        // The message names the key only: the value may identify a patient.
        let value = hex::decode(v).map_err(|_| {
            Failure::usage(format!(
                "context entry {k:?}: the value must be hex, two digits per byte, nothing else"
            ))
        })?;
        entries.push((k.to_owned(), value));
    }
    Ok(entries)
}

/// Largest `--context-file` accepted: sixteen entries of the longest key and hex value fit
/// many times over.
const MAX_CONTEXT_FILE_LEN: u64 = 64 * 1024;

/// Context entries from `--context-file` (or `--stored-context-file`) files. Each file is read
/// as bytes and split into lines at LF (a last line may lack its LF); empty lines are
/// skipped. Every other line is `KEY=VALUE` (the value: the line's UTF-8 text after the first
/// `=`) or `KEY:HEX` (the value: the bytes the hex digits after the first `:` spell): keys hold
/// neither `=` nor `:`, so whichever comes first ends the key. Nothing is trimmed. A CR byte
/// anywhere, a line with neither separator, a text value that is not UTF-8, bad hex digits, or
/// a file over [`MAX_CONTEXT_FILE_LEN`] bytes is a usage error that names the file and line
/// number and repeats none of the line (it may hold a patient value).
fn read_context_files(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut entries = Vec::new();
    for path in paths {
        let shown = path.display();
        let file = fs::File::open(path).map_err(|e| Failure::usage(format!("{shown}: {e}")))?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_CONTEXT_FILE_LEN.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::usage(format!("{shown}: {e}")))?;
        if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_CONTEXT_FILE_LEN) {
            return Err(Failure::usage(format!(
                "{shown}: a context file holds at most {MAX_CONTEXT_FILE_LEN} bytes"
            )));
        }
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let bad = |why: &str| {
                Failure::usage(format!("{shown} line {}: {why}", index.saturating_add(1)))
            };
            if line.is_empty() {
                continue;
            }
            if line.contains(&b'\r') {
                return Err(bad(
                    "a CR byte (line ends must be LF alone; give values holding CR as KEY:HEX)",
                ));
            }
            let at = line
                .iter()
                .position(|&b| b == b'=' || b == b':')
                .ok_or_else(|| bad("each line is KEY=VALUE or KEY:HEX"))?;
            let (key, rest) = line.split_at(at);
            let (separator, value) = rest.split_first().ok_or_else(|| bad("no separator"))?;
            // Keys are ASCII when valid; anything else is refused by the key rules later.
            let key = String::from_utf8_lossy(key).into_owned();
            let value = if *separator == b'=' {
                std::str::from_utf8(value)
                    .map_err(|_| bad("a KEY=VALUE value must be UTF-8 text (use KEY:HEX)"))?
                    .as_bytes()
                    .to_vec()
            } else {
                hex::decode(value)
                    .map_err(|_| bad("a KEY:HEX value must be hex digits, two per byte (0-9 a-f A-F, nothing else)"))?
            };
            entries.push((key, value));
        }
    }
    Ok(entries)
}

fn build_context<'a>(
    bound: &'a [(String, Vec<u8>)],
    stored: &'a [(String, Vec<u8>)],
) -> Result<Context<'a>, Failure> {
    let mut ctx = Context::new();
    for (k, v) in bound {
        ctx = ctx.with_custom(k, v).map_err(config)?;
    }
    for (k, v) in stored {
        ctx = ctx.with_custom_stored(k, v).map_err(config)?;
    }
    Ok(ctx)
}

fn parse_key_id_hex(s: &str) -> Result<KeyId, Failure> {
    let bytes = hex::decode(s).map_err(|_| Failure::usage("key id must be hex"))?;
    KeyId::new(&bytes).map_err(config)
}

fn primary_hex(keyring: &Keyring) -> String {
    keyring
        .primary_id()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn config(e: Error) -> Failure {
    Failure::usage(e.to_string())
}

fn verify_failure(e: Error) -> Failure {
    match e {
        Error::DidNotVerify | Error::NoMatchingKey => Failure::rejected(e.to_string()),
        other => config(other),
    }
}

fn io_verify(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::InvalidData {
        // The streaming reader carries the envelope error: "no usable key" stays distinct
        // from "did not verify", as for one-shot envelopes.
        match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
            Some(&Error::NoMatchingKey) => Failure::rejected(Error::NoMatchingKey.to_string()),
            _ => Failure::rejected("the envelope did not verify"),
        }
    } else {
        Failure::from(e)
    }
}
