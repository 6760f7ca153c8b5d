//! `keyring`, `recipient`, `seal`, `open`, `rewrap`: envelope encryption from the command line.
//!
//! File formats (keyring file, recipient key files) are specified in
//! `docs/envelope-format.md`.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use medsec_envelope::{
    Context, Error, KeyId, Keyring, Opener, OpeningReader, OsRng, RecipientPublicKey,
    RecipientSecretKey, Sealer, SealingWriter, Suite, SuitePolicy, Unwrap, UnwrapAny,
    DEFAULT_CHUNK_SIZE,
};
use zeroize::Zeroizing;

use crate::io::{read_input, write_file_atomically, write_output, Failure, Outcome};

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
        /// Key id written into envelopes (1 to 32 characters).
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
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Context entry bound and also stored in the clear header; repeatable.
    #[arg(long = "stored-context", value_name = "KEY=VALUE")]
    stored_context: Vec<String>,
    /// Suite: aes-256-gcm-siv (default) or aes-256-gcm.
    #[arg(long, default_value = "aes-256-gcm-siv")]
    suite: String,
    /// Write a streamed envelope (bounded memory for any size).
    #[arg(long)]
    stream: bool,
    /// Chunk size for --stream, 4096 to 65536.
    #[arg(long, default_value_t = DEFAULT_CHUNK_SIZE)]
    chunk_size: u32,
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
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Accepted suites: all (default), approved (AES-256-GCM only), gcm-siv.
    #[arg(long, default_value = "all")]
    suite_policy: String,
    #[arg(long = "in")]
    input: Option<PathBuf>,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RewrapArgs {
    #[arg(long)]
    keyring: PathBuf,
    /// Expected context entry; repeatable.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
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
            let secret = Zeroizing::new(format!(
                "{SECRET_KEY_LABEL} {} {}\n",
                hex::encode(id.as_bytes()),
                hex::encode(*sk.to_bytes())
            ));
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
    let entries = parse_entries(&args.context)?;
    let stored = parse_entries(&args.stored_context)?;
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
            args.chunk_size,
            args.input.as_deref(),
            args.out.as_deref(),
        );
    }
    let plaintext = Zeroizing::new(read_input(args.input.as_deref())?);
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
    let keyring = args.keyring.as_deref().map(load_keyring).transpose()?;
    let secrets = args
        .recipient_keys
        .iter()
        .map(|p| load_secret(p))
        .collect::<Result<Vec<_>, _>>()?;
    if keyring.is_none() && secrets.is_empty() {
        return Err(Failure::usage(
            "open needs --keyring and/or --recipient-key",
        ));
    }
    let mut keys: Vec<&dyn Unwrap> = Vec::new();
    if let Some(k) = &keyring {
        keys.push(k);
    }
    for s in &secrets {
        keys.push(s);
    }
    let any = UnwrapAny(&keys);
    let entries = parse_entries(&args.context)?;
    let context = build_context(&entries, &[])?;
    let opener = Opener::new(&any).context(context).policy(policy);

    // Read the header first to learn whether the envelope is streamed.
    let mut input: Box<dyn Read> = match &args.input {
        Some(p) => Box::new(
            fs::File::open(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut head = vec![0u8; 7];
    input
        .read_exact(&mut head)
        .map_err(|_| verify_failure(Error::DidNotVerify))?;
    let header_len = medsec_envelope::peek_header_len(&head).map_err(verify_failure)?;
    if header_len < head.len() {
        return Err(verify_failure(Error::DidNotVerify));
    }
    head.resize(header_len, 0);
    input
        .read_exact(head.get_mut(7..).unwrap_or_default())
        .map_err(|_| verify_failure(Error::DidNotVerify))?;
    let view =
        medsec_envelope::HeaderView::parse(&head, &Default::default()).map_err(verify_failure)?;
    let streamed = view.chunk_size().is_some();
    let mut rest = Cursor::new(head).chain(input);

    if streamed {
        let reader = OpeningReader::new(&opener, rest).map_err(io_verify)?;
        return copy_verified(reader, args.out.as_deref());
    }
    let mut envelope = Vec::new();
    rest.read_to_end(&mut envelope)?;
    let plaintext = opener.open(&envelope).map_err(verify_failure)?;
    write_output(args.out.as_deref(), &plaintext)
}

pub fn rewrap(args: RewrapArgs) -> Outcome {
    let keyring = load_keyring(&args.keyring)?;
    let entries = parse_entries(&args.context)?;
    let context = build_context(&entries, &[])?;
    let envelope = read_input(args.input.as_deref())?;
    let opener = Opener::new(&keyring).context(context);
    let rewrapped = keyring
        .rewrap(&opener, &envelope, &mut OsRng::default())
        .map_err(|e| match e {
            Error::DidNotVerify | Error::NoMatchingKey => verify_failure(e),
            other => config(other),
        })?;
    write_output(args.out.as_deref(), &rewrapped)
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
    let sink = OutputSink::new(out)?;
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
    let mut sink = OutputSink::new(out)?;
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => sink.write_all(buf.get(..n).unwrap_or_default())?,
            Err(e) => {
                sink.abandon();
                return Err(io_verify(e));
            }
        }
    }
    sink.commit()
}

/// Stdout, or a temporary file renamed over `--out` on success.
enum OutputSink {
    Stdout(std::io::Stdout),
    File {
        file: fs::File,
        tmp: PathBuf,
        dest: PathBuf,
    },
}

impl OutputSink {
    fn new(out: Option<&Path>) -> Result<Self, Failure> {
        Ok(match out {
            None => Self::Stdout(std::io::stdout()),
            Some(dest) => {
                let mut tmp = dest.as_os_str().to_owned();
                tmp.push(format!(".partial{}", std::process::id()));
                let tmp = PathBuf::from(tmp);
                let file = fs::File::create(&tmp)
                    .map_err(|e| Failure::usage(format!("{}: {e}", tmp.display())))?;
                Self::File {
                    file,
                    tmp,
                    dest: dest.to_path_buf(),
                }
            }
        })
    }

    fn commit(self) -> Outcome {
        match self {
            Self::Stdout(mut s) => {
                s.flush()?;
                Ok(())
            }
            Self::File { file, tmp, dest } => {
                file.sync_all()?;
                fs::rename(&tmp, &dest)?;
                Ok(())
            }
        }
    }

    fn abandon(self) {
        if let Self::File { tmp, .. } = self {
            let _ = fs::remove_file(tmp);
        }
    }
}

impl Write for OutputSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Stdout(s) => s.write(buf),
            Self::File { file, .. } => file.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Stdout(s) => s.flush(),
            Self::File { file, .. } => file.flush(),
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

fn load_public(path: &Path) -> Result<RecipientPublicKey, Failure> {
    let (id, key) = load_key_line(path, PUBLIC_KEY_LABEL)?;
    RecipientPublicKey::from_bytes(id, &key).map_err(config)
}

fn load_secret(path: &Path) -> Result<RecipientSecretKey, Failure> {
    let (id, key) = load_key_line(path, SECRET_KEY_LABEL)?;
    RecipientSecretKey::from_bytes(id, &key).map_err(config)
}

fn parse_entries(args: &[String]) -> Result<Vec<(String, String)>, Failure> {
    args.iter()
        .map(|a| {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| Failure::usage(format!("context entry {a:?} is not KEY=VALUE")))?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn build_context<'a>(
    bound: &'a [(String, String)],
    stored: &'a [(String, String)],
) -> Result<Context<'a>, Failure> {
    let mut ctx = Context::new();
    for (k, v) in bound {
        ctx = ctx.with_custom(k, v.as_bytes()).map_err(config)?;
    }
    for (k, v) in stored {
        ctx = ctx.with_custom_stored(k, v.as_bytes()).map_err(config)?;
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
        Failure::rejected("the envelope did not verify")
    } else {
        Failure::from(e)
    }
}
