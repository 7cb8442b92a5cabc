//! Forwarded audio sealed (SRTP) and addressed by the SFU itself instead of by str0m.
//!
//! Why: a Spaces-sized stage sends every speaker's packet to a thousand listeners, and str0m
//! does that through each listener's `Rtc`: `write_rtp` queues the packet, `poll_output` walks
//! the session, builds the header, encrypts into a fresh buffer and hands it back. That is 4–6 µs
//! a packet a listener on top of the send itself (docs/benchmarks.md). Audio needs none of what
//! str0m adds on the way (no retransmission, no pacing, no bandwidth estimate towards
//! subscribers), so once a connection is up the SFU writes the RTP header and seals it with the
//! connection's own SRTP key, exported from its DTLS handshake.
//!
//! How the key is had: str0m takes a crypto provider, and its DTLS instance reports the
//! DTLS-SRTP keying material (RFC 5764 §4.2) on its way to str0m's session. [`rtc_with_key_tap`]
//! builds the `Rtc` with a provider whose DTLS instances keep a copy for the connection.
//!
//! What stays with str0m: ICE, DTLS, the data channel, RTCP, video, and the first packet of each
//! audio stream and one in [`VIA_STR0M_ONE_IN`] after it (a second of Opus). That packet keeps
//! str0m's sender reports and its MID bookkeeping alive, and the datagrams str0m sends show the
//! SFU where the connection's nominated path is now ([`Direct::learn_path`]). Which packet of the
//! fifty differs from stream to stream, so a thousand listeners' str0m packets do not all fall on
//! the same forwarded packet and hold up everything behind it. Both ways number packets with the
//! same extended sequence number, so the SRTP rollover counter (its upper bits) agrees.
//!
//! Profiles: AEAD_AES_256_GCM and AEAD_AES_128_GCM (RFC 7714), what str0m's DTLS picks with
//! browsers and with str0m. A connection that negotiated AES128_CM_SHA1_80 stays on str0m's path.
use std::{
    cell::RefCell,
    fmt,
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::Instant,
};

use str0m::{
    Rtc, RtcConfig,
    config::{CryptoProvider, DtlsCert},
    crypto::{
        AeadAes128GcmCipher, AeadAes256GcmCipher, CryptoError, SrtpProvider,
        dtls::{DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion, SrtpProfile},
    },
    media::{Mid, Pt},
    net::{Protocol, Transmit},
    rtp::{Extension, Ssrc},
};

/// One forwarded audio packet in this many still goes through str0m (see the module docs).
pub const VIA_STR0M_ONE_IN: u32 = 50;

/// RFC 3711 §4.3.1 key derivation labels.
const LABEL_RTP_ENCRYPTION: u8 = 0x00;
const LABEL_RTP_SALT: u8 = 0x02;
/// RFC 7714: 96-bit salt, 128-bit tag.
const GCM_SALT_LEN: usize = 12;
const GCM_TAG_LEN: usize = 16;

/// What a connection's DTLS handshake exported: the material, its profile and whether this
/// side was the DTLS client (which half of the material is ours).
struct Exported {
    material: Vec<u8>,
    profile: SrtpProfile,
    client: bool,
}

impl fmt::Debug for Exported {
    // Key material never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exported").field("profile", &self.profile).field("client", &self.client).finish_non_exhaustive()
    }
}

type KeySlot = Arc<Mutex<Option<Exported>>>;

thread_local! {
    /// The slot the next DTLS instance built on this thread reports into: set around
    /// `RtcConfig::build`, which creates the connection's DTLS instance.
    static NEXT_SLOT: RefCell<Option<KeySlot>> = const { RefCell::new(None) };
}

fn base() -> &'static CryptoProvider {
    static BASE: OnceLock<CryptoProvider> = OnceLock::new();
    BASE.get_or_init(str0m::crypto::from_feature_flags)
}

/// str0m's own DTLS provider, with instances that keep a copy of the exported key.
#[derive(Debug)]
struct KeyTap;

static KEY_TAP: KeyTap = KeyTap;

impl DtlsProvider for KeyTap {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        base().dtls_provider.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let inner = base().dtls_provider.new_dtls(cert, now, version, mtu)?;
        Ok(match NEXT_SLOT.with(|s| s.borrow_mut().take()) {
            Some(slot) => Box::new(Tapped { inner, slot }),
            None => inner,
        })
    }

    fn is_test(&self) -> bool {
        base().dtls_provider.is_test()
    }
}

struct Tapped {
    inner: Box<dyn DtlsInstance>,
    slot: KeySlot,
}

impl fmt::Debug for Tapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tapped").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl DtlsInstance for Tapped {
    fn set_active(&mut self, active: bool) {
        self.inner.set_active(active);
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.inner.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let out = self.inner.poll_output(buf);
        if let DtlsOutput::KeyingMaterial(material, profile) = &out {
            let exported = Exported { material: material.to_vec(), profile: *profile, client: self.inner.is_active() };
            if let Ok(mut slot) = self.slot.lock() {
                *slot = Some(exported);
            }
        }
        out
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.inner.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.inner.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.inner.close()
    }
}

fn tapping_provider() -> Arc<CryptoProvider> {
    static TAPPING: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    TAPPING.get_or_init(|| Arc::new(CryptoProvider { dtls_provider: &KEY_TAP, ..base().clone() })).clone()
}

/// Builds the connection's `Rtc` so that its exported SRTP key reaches the returned [`Direct`].
pub fn rtc_with_key_tap(config: RtcConfig, now: Instant) -> (Rtc, Direct) {
    let slot: KeySlot = Arc::default();
    NEXT_SLOT.with(|s| *s.borrow_mut() = Some(slot.clone()));
    let rtc = config.set_crypto_provider(tapping_provider()).build(now);
    // Left unset if the build made no DTLS instance, so the next connection is not handed it.
    NEXT_SLOT.with(|s| s.borrow_mut().take());
    (rtc, Direct { keys: slot, sealer: SealerState::Waiting, path: None })
}

/// A connection's side of the direct path: its key, once exported, and where str0m last sent.
#[derive(Debug)]
pub struct Direct {
    keys: KeySlot,
    sealer: SealerState,
    /// The local and remote address of str0m's latest DTLS or SRTP datagram: the nominated pair.
    path: Option<(SocketAddr, SocketAddr)>,
}

#[derive(Debug)]
enum SealerState {
    Waiting,
    Ready(Sealer),
    /// A profile this module does not seal: str0m sends everything.
    Unsupported,
}

impl Direct {
    /// Called with every datagram str0m hands out for this connection. STUN (first byte 0–3) is
    /// left out: str0m answers connectivity checks on whatever pair they came from, while DTLS
    /// and SRTP go to the nominated one. Over TCP the SFU does not send itself.
    pub fn learn_path(&mut self, t: &Transmit) {
        if t.contents.first().is_some_and(|b| *b >= 20) {
            self.path = (t.proto == Protocol::Udp).then_some((t.source, t.destination));
        }
    }

    /// Seals `payload` as the RTP packet described by `packet` for this connection, if the
    /// direct path is ready for this stream; `None` means: send it through str0m.
    pub fn seal(&mut self, rtc: &mut Rtc, track: &mut DirectTrack, packet: &AudioPacket<'_>) -> Option<Transmit> {
        let n = track.forwarded;
        track.forwarded = n.wrapping_add(1);
        if n == 0 || n % VIA_STR0M_ONE_IN == track.phase {
            return None;
        }
        let (source, destination) = self.path?;
        let sealer = match &mut self.sealer {
            SealerState::Ready(s) => s,
            SealerState::Unsupported => return None,
            SealerState::Waiting => {
                let exported = self.keys.lock().ok()?.take()?;
                self.sealer = match Sealer::new(base().srtp_provider, &exported) {
                    Some(s) => SealerState::Ready(s),
                    None => SealerState::Unsupported,
                };
                let SealerState::Ready(s) = &mut self.sealer else { return None };
                s
            }
        };
        let ids = match track.ids {
            Some(ids) => ids,
            None => *track.ids.insert(StreamIds::of(rtc, packet.mid)?),
        };
        let contents = sealer.seal(&ids, packet);
        Some(Transmit { proto: Protocol::Udp, source, destination, contents: contents.into() })
    }
}

/// Per forwarded audio stream of a connection.
#[derive(Debug)]
pub struct DirectTrack {
    /// Packets of this stream offered to [`Direct::seal`].
    forwarded: u32,
    /// Which packet of each [`VIA_STR0M_ONE_IN`] goes through str0m.
    phase: u32,
    ids: Option<StreamIds>,
}

impl Default for DirectTrack {
    fn default() -> Self {
        // Consecutive streams (a room's listeners, joined one after another) get consecutive
        // phases: their str0m packets spread over the fifty.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        Self { forwarded: 0, phase: NEXT.fetch_add(1, Ordering::Relaxed) % VIA_STR0M_ONE_IN, ids: None }
    }
}

/// The stream's SSRC (str0m declared it) and the header extension ids the connection agreed.
#[derive(Debug, Clone, Copy)]
struct StreamIds {
    ssrc: Ssrc,
    mid: Mid,
    mid_id: Option<u8>,
    level_id: Option<u8>,
}

impl StreamIds {
    fn of(rtc: &mut Rtc, mid: Mid) -> Option<Self> {
        // One-byte extension elements are 1–16 bytes long.
        if !(1..=16).contains(&mid.len()) {
            return None;
        }
        let ssrc = rtc.direct_api().stream_tx_by_mid(mid, None)?.ssrc();
        let exts = rtc.media(mid)?.remote_extmap();
        // One-byte header extensions carry ids 1–14; anything else stays with str0m.
        let one_byte = |e: Extension| match exts.id_of(e) {
            Some(id) if (1..=14).contains(&id) => Ok(Some(id)),
            Some(_) => Err(()),
            None => Ok(None),
        };
        Some(Self { ssrc, mid, mid_id: one_byte(Extension::RtpMid).ok()?, level_id: one_byte(Extension::AudioLevel).ok()? })
    }
}

/// What the SFU forwards: the subscriber's numbering and the publisher's payload.
pub struct AudioPacket<'a> {
    pub mid: Mid,
    pub pt: Pt,
    /// Extended sequence number: the SRTP rollover counter is its upper bits.
    pub seq: u64,
    pub timestamp: u32,
    pub marker: bool,
    /// RFC 6464: level in -dBov and the voice activity flag.
    pub level: Option<(i8, bool)>,
    pub payload: &'a [u8],
}

enum Gcm {
    Aes128(Box<dyn AeadAes128GcmCipher>),
    Aes256(Box<dyn AeadAes256GcmCipher>),
}

/// The sending half of a connection's SRTP context, AEAD (RFC 7714) only.
struct Sealer {
    cipher: Gcm,
    salt: [u8; GCM_SALT_LEN],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = match self.cipher {
            Gcm::Aes128(_) => 128,
            Gcm::Aes256(_) => 256,
        };
        f.debug_struct("Sealer").field("aes_gcm_bits", &bits).finish_non_exhaustive()
    }
}

impl Sealer {
    fn new(provider: &dyn SrtpProvider, e: &Exported) -> Option<Self> {
        let key_len = match e.profile {
            SrtpProfile::AEAD_AES_128_GCM => 16,
            SrtpProfile::AEAD_AES_256_GCM => 32,
            _ => return None,
        };
        let (master_key, master_salt) = split_material(&e.material, key_len, GCM_SALT_LEN, e.client)?;
        let mut salt = [0; GCM_SALT_LEN];
        derive(provider, master_key, master_salt, LABEL_RTP_SALT, &mut salt);
        let cipher = if key_len == 16 {
            let mut key = [0; 16];
            derive(provider, master_key, master_salt, LABEL_RTP_ENCRYPTION, &mut key);
            Gcm::Aes128(provider.aead_aes_128_gcm().create_cipher(key, true))
        } else {
            let mut key = [0; 32];
            derive(provider, master_key, master_salt, LABEL_RTP_ENCRYPTION, &mut key);
            Gcm::Aes256(provider.aead_aes_256_gcm().create_cipher(key, true))
        };
        Some(Self { cipher, salt })
    }

    /// The SRTP packet: RTP header (the additional authenticated data), the encrypted payload,
    /// and the tag.
    fn seal(&mut self, ids: &StreamIds, p: &AudioPacket<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 24 + p.payload.len() + GCM_TAG_LEN);
        write_header(&mut out, ids, p);
        let header_len = out.len();
        out.resize(header_len + p.payload.len() + GCM_TAG_LEN, 0);
        let iv = gcm_iv(&self.salt, *ids.ssrc, (p.seq >> 16) as u32, p.seq as u16);
        let (aad, body) = out.split_at_mut(header_len);
        let sealed = match &mut self.cipher {
            Gcm::Aes128(c) => c.encrypt(&iv, aad, p.payload, body),
            Gcm::Aes256(c) => c.encrypt(&iv, aad, p.payload, body),
        };
        // The buffer is sized for the tag; the provider fails only on a wrong size.
        sealed.expect("AES-GCM output sized for payload and tag");
        out
    }
}

/// RFC 5764 §4.2: client key, server key, client salt, server salt. Ours is the client's half
/// when this side was the DTLS client.
fn split_material(m: &[u8], key_len: usize, salt_len: usize, client: bool) -> Option<(&[u8], &[u8])> {
    if m.len() != 2 * (key_len + salt_len) {
        return None;
    }
    let (k, s) = if client { (0, 2 * key_len) } else { (key_len, 2 * key_len + salt_len) };
    Some((&m[k..k + key_len], &m[s..s + salt_len]))
}

/// RFC 3711 §4.3.1 (key derivation rate 0) with the AES-CM PRF of §4.3.3: the label is XORed
/// into the salt at byte 7, the last two bytes of the block count the output blocks. RFC 7714
/// §11 uses it unchanged for the GCM profiles' 96-bit salts.
fn derive(provider: &dyn SrtpProvider, master_key: &[u8], master_salt: &[u8], label: u8, out: &mut [u8]) {
    let mut x = [0u8; 16];
    x[..master_salt.len()].copy_from_slice(master_salt);
    x[7] ^= label;
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        x[14..].copy_from_slice(&(i as u16).to_be_bytes());
        // Room for the block and the padding some providers write past it.
        let mut block = [0u8; 32];
        if master_key.len() == 16 {
            provider.srtp_aes_128_ecb_round(master_key, &x, &mut block);
        } else {
            provider.srtp_aes_256_ecb_round(master_key, &x, &mut block);
        }
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// RFC 7714 §8.1: 0x0000 ‖ SSRC ‖ ROC ‖ SEQ, XORed with the session salt.
fn gcm_iv(salt: &[u8; GCM_SALT_LEN], ssrc: u32, roc: u32, seq: u16) -> [u8; GCM_SALT_LEN] {
    let mut iv = [0u8; GCM_SALT_LEN];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..10].copy_from_slice(&roc.to_be_bytes());
    iv[10..12].copy_from_slice(&seq.to_be_bytes());
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    iv
}

/// RFC 3550 §5.1 header with an RFC 8285 one-byte extension block: the MID (RFC 8843) and the
/// audio level (RFC 6464), each when the connection agreed on it.
fn write_header(out: &mut Vec<u8>, ids: &StreamIds, p: &AudioPacket<'_>) {
    let mid = ids.mid_id.map(|id| (id, ids.mid.as_bytes()));
    let level = ids.level_id.zip(p.level);
    let has_ext = mid.is_some() || level.is_some();
    out.push(0x80 | if has_ext { 0x10 } else { 0 });
    out.push(if p.marker { 0x80 } else { 0 } | (*p.pt & 0x7f));
    out.extend_from_slice(&(p.seq as u16).to_be_bytes());
    out.extend_from_slice(&p.timestamp.to_be_bytes());
    out.extend_from_slice(&ids.ssrc.to_be_bytes());
    if !has_ext {
        return;
    }
    out.extend_from_slice(&[0xbe, 0xde, 0, 0]);
    let start = out.len();
    if let Some((id, bytes)) = mid {
        out.push((id << 4) | (bytes.len() as u8 - 1));
        out.extend_from_slice(bytes);
    }
    if let Some((id, (dbov, voice))) = level {
        out.push(id << 4);
        out.push(if voice { 0x80 } else { 0 } | (dbov.unsigned_abs() & 0x7f));
    }
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    let words = ((out.len() - start) / 4) as u16;
    out[start - 2..start].copy_from_slice(&words.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn session_keys_derive_as_in_rfc_3711_appendix_b3() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut key = [0u8; 16];
        derive(base().srtp_provider, &master_key, &master_salt, LABEL_RTP_ENCRYPTION, &mut key);
        assert_eq!(key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        derive(base().srtp_provider, &master_key, &master_salt, LABEL_RTP_SALT, &mut salt);
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    }

    #[test]
    fn the_dtls_client_takes_the_first_key_and_salt_and_the_server_the_second() {
        // RFC 5764 §4.2 with 2-byte keys and 1-byte salts: client key, server key, client salt, server salt.
        let m = [1, 1, 2, 2, 3, 4];
        assert_eq!(split_material(&m, 2, 1, true), Some((&[1, 1][..], &[3][..])));
        assert_eq!(split_material(&m, 2, 1, false), Some((&[2, 2][..], &[4][..])));
        assert_eq!(split_material(&m[..5], 2, 1, true), None, "material of the wrong length is refused");
    }

    #[test]
    fn the_gcm_nonce_is_ssrc_roc_and_sequence_number_under_the_salt() {
        let iv = gcm_iv(&[0; 12], 0x0102_0304, 7, 0xabcd);
        assert_eq!(iv, [0, 0, 1, 2, 3, 4, 0, 0, 0, 7, 0xab, 0xcd]);
        let salted = gcm_iv(&[0xff; 12], 0, 0, 0);
        assert_eq!(salted, [0xff; 12]);
    }

    fn ids(mid_id: Option<u8>, level_id: Option<u8>) -> StreamIds {
        StreamIds { ssrc: 0x1122_3344.into(), mid: Mid::from("a1"), mid_id, level_id }
    }

    fn packet(payload: &[u8]) -> AudioPacket<'_> {
        AudioPacket {
            mid: Mid::from("a1"),
            pt: 111.into(),
            seq: (3 << 16) | 0x0102,
            timestamp: 0x0a0b_0c0d,
            marker: true,
            level: Some((-30, true)),
            payload,
        }
    }

    #[test]
    fn the_header_carries_mid_and_level_in_a_padded_one_byte_extension_block() {
        let mut out = Vec::new();
        write_header(&mut out, &ids(Some(4), Some(1)), &packet(&[]));
        assert_eq!(
            out,
            [
                0x90,
                0x80 | 111,
                0x01,
                0x02,
                0x0a,
                0x0b,
                0x0c,
                0x0d,
                0x11,
                0x22,
                0x33,
                0x44, // fixed header, X set
                0xbe,
                0xde,
                0x00,
                0x02, // one-byte profile, two words
                0x41,
                b'a',
                b'1', // MID, id 4, two bytes
                0x10,
                0x80 | 30, // audio level, id 1: voice, 30 dB below overload
                0,
                0,
                0, // padding to a word
            ]
        );
        let mut bare = Vec::new();
        write_header(&mut bare, &ids(None, None), &packet(&[]));
        assert_eq!(bare.len(), 12, "no extension agreed, no block");
        assert_eq!(bare[0], 0x80);
    }

    fn sealer_pair(profile: SrtpProfile, key_len: usize) -> (Sealer, Box<dyn Fn(&[u8], &[&[u8]], &mut [u8]) -> bool>) {
        let material: Vec<u8> = (0..2 * (key_len + GCM_SALT_LEN) as u8).collect();
        let sealer = Sealer::new(base().srtp_provider, &Exported { material: material.clone(), profile, client: false }).unwrap();
        // The receiving side, derived on its own from the server's half of the material.
        let p = base().srtp_provider;
        let (mk, ms) = split_material(&material, key_len, GCM_SALT_LEN, false).unwrap();
        let mut salt = [0; 12];
        derive(p, mk, ms, LABEL_RTP_SALT, &mut salt);
        let iv = gcm_iv(&salt, 0x1122_3344, 3, 0x0102);
        let open: Box<dyn Fn(&[u8], &[&[u8]], &mut [u8]) -> bool> = if key_len == 16 {
            let mut key = [0; 16];
            derive(p, mk, ms, LABEL_RTP_ENCRYPTION, &mut key);
            let c = std::sync::Mutex::new(p.aead_aes_128_gcm().create_cipher(key, false));
            Box::new(move |body, aad, out| c.lock().unwrap().decrypt(&iv, aad, body, out).is_ok())
        } else {
            let mut key = [0; 32];
            derive(p, mk, ms, LABEL_RTP_ENCRYPTION, &mut key);
            let c = std::sync::Mutex::new(p.aead_aes_256_gcm().create_cipher(key, false));
            Box::new(move |body, aad, out| c.lock().unwrap().decrypt(&iv, aad, body, out).is_ok())
        };
        (sealer, open)
    }

    #[test]
    fn a_sealed_packet_opens_with_the_receivers_key_and_a_changed_header_does_not() {
        for (profile, key_len) in [(SrtpProfile::AEAD_AES_128_GCM, 16), (SrtpProfile::AEAD_AES_256_GCM, 32)] {
            let (mut sealer, open) = sealer_pair(profile, key_len);
            let payload = b"an opus frame, more or less";
            let sealed = sealer.seal(&ids(Some(4), Some(1)), &packet(payload));
            let header_len = 24;
            assert_eq!(sealed.len(), header_len + payload.len() + GCM_TAG_LEN);
            assert_ne!(&sealed[header_len..header_len + payload.len()], payload, "{profile:?}: the payload is encrypted");
            let mut plain = vec![0; sealed.len()];
            assert!(open(&sealed[header_len..], &[&sealed[..header_len]], &mut plain), "{profile:?}");
            assert_eq!(&plain[..payload.len()], payload);
            let mut tampered = sealed[..header_len].to_vec();
            tampered[1] ^= 0x80; // the marker bit
            assert!(!open(&sealed[header_len..], &[&tampered], &mut plain), "{profile:?}: the header is authenticated");
        }
    }

    #[test]
    fn fifty_streams_in_a_row_send_through_str0m_on_fifty_different_packets() {
        let phases: std::collections::BTreeSet<u32> = (0..VIA_STR0M_ONE_IN).map(|_| DirectTrack::default().phase).collect();
        assert_eq!(phases.len(), VIA_STR0M_ONE_IN as usize, "{phases:?}");
    }

    #[test]
    fn a_connection_on_the_sha1_profile_is_left_to_str0m() {
        let e = Exported { material: vec![0; 60], profile: SrtpProfile::AES128_CM_SHA1_80, client: true };
        assert!(Sealer::new(base().srtp_provider, &e).is_none());
    }

    #[test]
    fn the_exported_key_never_shows_in_debug_output() {
        let e = Exported { material: vec![0xab; 56], profile: SrtpProfile::AEAD_AES_128_GCM, client: true };
        let shown = format!("{e:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, "), "{shown}");
    }
}
