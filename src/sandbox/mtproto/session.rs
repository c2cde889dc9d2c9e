//! One MTProto connection, server side: the full transport's frames, the
//! encrypted envelope, the session (its id, the server salt and
//! new_session_created), and the service messages around the RPCs —
//! containers both ways, gzip_packed, msgs_ack, ping/pong and
//! ping_delay_disconnect, get_future_salts, bad_server_salt — with every
//! RPC answered as rpc_result (a result or an rpc_error).
//!
//! Every read is bounded: a frame longer than Telegram's limit closes the
//! connection, an idle connection closes after the ping deadline, and a
//! gzip body inflates to at most the same limit.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use grammers_crypto::DequeBuffer;
use grammers_mtproto::transport::{self, Transport as _};
use grammers_tl_types::{self as tl, Cursor, Deserializable as _, Serializable as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::envelope::{self, MsgIds};
use super::rpc::{self, Answer};
use super::{Front, MtprotoFault};

/// Largest frame accepted (Telegram closes the connection at about 1 MiB).
const MAX_FRAME: usize = 1024 * 1024 + 8 * 1024;
/// A connection that sends nothing for this long is closed, unless
/// ping_delay_disconnect asked for another deadline.
const IDLE: Duration = Duration::from_secs(120);
/// Most connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;

const MSG_CONTAINER: u32 = 0x73f1f8dc;
const GZIP_PACKED: u32 = 0x3072cfa1;
const RPC_RESULT: u32 = 0xf35c6d01;
const MSGS_ACK: u32 = 0x62d6b459;
const PING: u32 = 0x7abe77ec;
const PING_DELAY_DISCONNECT: u32 = 0xf3427b8c;
const GET_FUTURE_SALTS: u32 = 0xb921bd04;
const DESTROY_SESSION: u32 = 0xe7512126;
const RPC_DROP_ANSWER: u32 = 0x58e4a740;
/// bad_msg_notification error code for a wrong server salt.
const BAD_SALT: i32 = 48;

pub(super) async fn accept(
    listener: TcpListener,
    front: Arc<Front>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let front = front.clone();
        let stop = stop.clone();
        front.note(|s| s.connections += 1);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = serve(stream, front, stop).await;
        });
    }
}

/// A message to send: its body and whether it is content-related (odd
/// seq_no, the client acknowledges it).
struct Outgoing {
    body: Vec<u8>,
    content: bool,
}

/// What one connection remembers.
struct Connection {
    transport: transport::Full,
    session_id: Option<i64>,
    ids: MsgIds,
    seq: i32,
    key_id: u64,
    idle: Duration,
}

enum Step {
    Send(Vec<Outgoing>),
    /// A transport error code (-404 unknown key) and close.
    Refuse(i32),
    Close,
}

async fn serve(
    mut stream: TcpStream,
    front: Arc<Front>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut conn = Connection {
        transport: transport::Full::new(),
        session_id: None,
        ids: MsgIds::default(),
        seq: 0,
        key_id: 0,
        idle: IDLE,
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let read = tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            read = tokio::time::timeout(conn.idle, stream.read_buf(&mut buffer)) => read,
        };
        match read {
            Err(_) | Ok(Ok(0)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(_)) => {}
        }
        loop {
            if buffer.len() >= 4 {
                let len = i32::from_le_bytes(buffer[..4].try_into().expect("4 bytes"));
                if len < 12 || len as usize > MAX_FRAME {
                    return Ok(());
                }
            }
            let unpacked = match conn.transport.unpack(&mut buffer[..]) {
                Ok(u) => u,
                Err(transport::Error::MissingBytes) => break,
                // A bad crc or sequence number: the stream is out of step.
                Err(_) => return Ok(()),
            };
            let packet = buffer[unpacked.data_range.clone()].to_vec();
            buffer.drain(..unpacked.next_offset);
            match handle_packet(&front, &mut conn, &packet) {
                Step::Send(messages) => {
                    if messages.is_empty() {
                        continue;
                    }
                    let frame = seal(&front, &mut conn, messages);
                    stream.write_all(&frame).await?;
                }
                Step::Refuse(code) => {
                    stream.write_all(&code.to_le_bytes()).await?;
                    return Ok(());
                }
                Step::Close => return Ok(()),
            }
        }
    }
}

/// Serialise the messages (in a container when more than one), encrypt and
/// frame them.
fn seal(front: &Front, conn: &mut Connection, messages: Vec<Outgoing>) -> Vec<u8> {
    let mut body = Vec::new();
    let single = messages.len() == 1;
    let mut inner = Vec::new();
    for m in &messages {
        let seq = next_seq(conn, m.content);
        let msg_id = conn.ids.next(true);
        write_message(&mut inner, msg_id, seq, &m.body);
    }
    if single {
        body = inner;
    } else {
        let mut container = Vec::new();
        MSG_CONTAINER.serialize(&mut container);
        (messages.len() as i32).serialize(&mut container);
        container.extend_from_slice(&inner);
        let seq = next_seq(conn, false);
        let msg_id = conn.ids.next(true);
        write_message(&mut body, msg_id, seq, &container);
    }
    let mut plaintext = Vec::with_capacity(16 + body.len());
    front.salt.serialize(&mut plaintext);
    conn.session_id.unwrap_or(0).serialize(&mut plaintext);
    plaintext.extend_from_slice(&body);
    let key = front
        .key(conn.key_id)
        .expect("the key outlives its connections");
    let packet = envelope::seal(&key, &plaintext);
    let mut buffer = DequeBuffer::with_capacity(packet.len(), 8);
    buffer.extend(packet);
    conn.transport.pack(&mut buffer);
    buffer[..].to_vec()
}

fn next_seq(conn: &mut Connection, content: bool) -> i32 {
    if content {
        conn.seq += 2;
        conn.seq - 1
    } else {
        conn.seq
    }
}

fn write_message(out: &mut Vec<u8>, msg_id: i64, seq: i32, body: &[u8]) {
    msg_id.serialize(out);
    seq.serialize(out);
    (body.len() as i32).serialize(out);
    out.extend_from_slice(body);
}

fn handle_packet(front: &Front, conn: &mut Connection, packet: &[u8]) -> Step {
    let Some(key_id) = envelope::key_id_of(packet) else {
        return Step::Close;
    };
    // No key exchange here (key id 0), and no key we never agreed: -404,
    // which grammers answers by starting an exchange the sandbox refuses.
    let Some(key) = front.key(key_id) else {
        front.note(|s| s.unknown_keys += 1);
        return Step::Refuse(-404);
    };
    if conn.key_id != 0 && conn.key_id != key_id {
        return Step::Close;
    }
    conn.key_id = key_id;
    let Ok(plaintext) = envelope::open(&key, packet) else {
        return Step::Close;
    };
    let mut cursor = Cursor::from_slice(&plaintext);
    let (Ok(salt), Ok(session_id)) = (i64::deserialize(&mut cursor), i64::deserialize(&mut cursor))
    else {
        return Step::Close;
    };
    let Some((msg_id, seq_no, body)) = read_message(&mut cursor, plaintext.len()) else {
        return Step::Close;
    };
    let mut out = Vec::new();
    if conn.session_id != Some(session_id) {
        conn.session_id = Some(session_id);
        conn.seq = 0;
        front.note(|s| s.new_sessions += 1);
        // new_session_created#9ec20908 first_msg_id unique_id server_salt
        let mut body = Vec::new();
        tl::enums::NewSession::Created(tl::types::NewSessionCreated {
            first_msg_id: msg_id,
            unique_id: rand::random(),
            server_salt: front.salt,
        })
        .serialize(&mut body);
        out.push(Outgoing {
            body,
            content: true,
        });
    }
    if salt != front.salt {
        front.note(|s| s.bad_salts += 1);
        let mut body = Vec::new();
        tl::enums::BadMsgNotification::BadServerSalt(tl::types::BadServerSalt {
            bad_msg_id: msg_id,
            bad_msg_seqno: seq_no,
            error_code: BAD_SALT,
            new_server_salt: front.salt,
        })
        .serialize(&mut body);
        out.push(Outgoing {
            body,
            content: false,
        });
        return Step::Send(out);
    }
    let mut acks = Vec::new();
    match process(
        front, conn, msg_id, seq_no, &body, &mut out, &mut acks, true,
    ) {
        Ok(()) => {}
        Err(Stop) => {
            front.note(|s| s.dropped += 1);
            return Step::Close;
        }
    }
    if !acks.is_empty() {
        let mut body = Vec::new();
        tl::enums::MsgsAck::Ack(tl::types::MsgsAck { msg_ids: acks }).serialize(&mut body);
        out.push(Outgoing {
            body,
            content: false,
        });
    }
    Step::Send(out)
}

/// `msg_id seqno bytes body`, with the length checked against what is left.
fn read_message(cursor: &mut Cursor, total: usize) -> Option<(i64, i32, Vec<u8>)> {
    let msg_id = i64::deserialize(cursor).ok()?;
    let seq_no = i32::deserialize(cursor).ok()?;
    let len = i32::deserialize(cursor).ok()?;
    if len < 0 || len as usize > total.saturating_sub(cursor.pos()) || len % 4 != 0 {
        return None;
    }
    let mut body = vec![0; len as usize];
    cursor.read_exact(&mut body).ok()?;
    Some((msg_id, seq_no, body))
}

/// The connection must close without an answer (a scripted drop, or a
/// message that cannot be read).
struct Stop;

#[allow(clippy::too_many_arguments)]
fn process(
    front: &Front,
    conn: &mut Connection,
    msg_id: i64,
    seq_no: i32,
    body: &[u8],
    out: &mut Vec<Outgoing>,
    acks: &mut Vec<i64>,
    may_contain: bool,
) -> Result<(), Stop> {
    let Some(constructor) = body.get(..4) else {
        return Err(Stop);
    };
    let constructor = u32::from_le_bytes(constructor.try_into().expect("4 bytes"));
    let rest = &body[4..];
    let mut cursor = Cursor::from_slice(rest);
    match constructor {
        MSG_CONTAINER if may_contain => {
            let count = i32::deserialize(&mut cursor).map_err(|_| Stop)?;
            front.note(|s| s.containers += 1);
            if !(0..=1024).contains(&count) {
                return Err(Stop);
            }
            for _ in 0..count {
                let (id, seq, inner) = read_message(&mut cursor, rest.len()).ok_or(Stop)?;
                // Containers do not nest.
                process(front, conn, id, seq, &inner, out, acks, false)?;
            }
            Ok(())
        }
        GZIP_PACKED => {
            let packed = Vec::<u8>::deserialize(&mut cursor).map_err(|_| Stop)?;
            let inflated = gunzip(&packed).ok_or(Stop)?;
            front.note(|s| s.gzipped += 1);
            process(
                front,
                conn,
                msg_id,
                seq_no,
                &inflated,
                out,
                acks,
                may_contain,
            )
        }
        MSGS_ACK => {
            front.note(|s| s.acks += 1);
            Ok(())
        }
        PING | PING_DELAY_DISCONNECT => {
            let ping_id = i64::deserialize(&mut cursor).map_err(|_| Stop)?;
            front.note(|s| s.pings += 1);
            if constructor == PING_DELAY_DISCONNECT {
                let delay = i32::deserialize(&mut cursor).map_err(|_| Stop)?;
                conn.idle = Duration::from_secs(delay.clamp(1, 3600) as u64);
            }
            let mut body = Vec::new();
            tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id }).serialize(&mut body);
            out.push(Outgoing {
                body,
                content: false,
            });
            Ok(())
        }
        GET_FUTURE_SALTS => {
            let num = i32::deserialize(&mut cursor)
                .map_err(|_| Stop)?
                .clamp(1, 64);
            let now = super::super::rules::unix_now() as i32;
            let salts = (0..num)
                .map(|i| tl::types::FutureSalt {
                    valid_since: now + i * 3600 - 60,
                    valid_until: now + (i + 1) * 3600,
                    salt: front.salt,
                })
                .collect();
            let mut body = Vec::new();
            tl::enums::FutureSalts::Salts(tl::types::FutureSalts {
                req_msg_id: msg_id,
                now,
                salts: tl::RawVec(salts),
            })
            .serialize(&mut body);
            out.push(Outgoing {
                body,
                content: false,
            });
            Ok(())
        }
        DESTROY_SESSION => {
            let session_id = i64::deserialize(&mut cursor).map_err(|_| Stop)?;
            let mut result = Vec::new();
            tl::enums::DestroySessionRes::DestroySessionNone(tl::types::DestroySessionNone {
                session_id,
            })
            .serialize(&mut result);
            out.push(rpc_result(msg_id, &result));
            Ok(())
        }
        RPC_DROP_ANSWER => {
            // Every call is answered at once: nothing is ever still queued.
            let mut result = Vec::new();
            tl::enums::RpcDropAnswer::RpcAnswerUnknown.serialize(&mut result);
            out.push(rpc_result(msg_id, &result));
            Ok(())
        }
        _ => {
            if seq_no % 2 == 1 {
                acks.push(msg_id);
            }
            match rpc::call(front, conn.key_id, body) {
                Answer::Result(result) => out.push(rpc_result(msg_id, &result)),
                Answer::Error { code, message } => {
                    let mut result = Vec::new();
                    tl::enums::RpcError::Error(tl::types::RpcError {
                        error_code: code,
                        error_message: message,
                    })
                    .serialize(&mut result);
                    out.push(rpc_result(msg_id, &result));
                }
                Answer::Drop => return Err(Stop),
            }
            Ok(())
        }
    }
}

fn rpc_result(req_msg_id: i64, result: &[u8]) -> Outgoing {
    let mut body = Vec::with_capacity(12 + result.len());
    RPC_RESULT.serialize(&mut body);
    req_msg_id.serialize(&mut body);
    // Large answers go gzip_packed, as Telegram sends them.
    if result.len() > 1024 {
        let packed = gzip(result);
        if packed.len() + 8 < result.len() {
            GZIP_PACKED.serialize(&mut body);
            packed.serialize(&mut body);
            return Outgoing {
                body,
                content: true,
            };
        }
    }
    body.extend_from_slice(result);
    Outgoing {
        body,
        content: true,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Inflate at most [`MAX_FRAME`] bytes; a bomb is refused.
fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(MAX_FRAME as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= MAX_FRAME).then_some(out)
}

/// What a scripted fault does to the call it meets, for `rpc`.
pub(super) fn fault_answer(fault: MtprotoFault) -> Option<Answer> {
    match fault {
        MtprotoFault::FloodWait { seconds, .. } => Some(Answer::Error {
            code: 420,
            message: format!("FLOOD_WAIT_{seconds}"),
        }),
        MtprotoFault::Error { code, message, .. } => Some(Answer::Error { code, message }),
        MtprotoFault::Drop {
            after_call: false, ..
        } => Some(Answer::Drop),
        // Dropped after the call ran: `rpc` runs it and then drops.
        MtprotoFault::Drop {
            after_call: true, ..
        } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_refuses_bombs() {
        let data = vec![7u8; 4000];
        assert_eq!(gunzip(&gzip(&data)).unwrap(), data);
        let bomb = gzip(&vec![0u8; MAX_FRAME + 10]);
        assert!(gunzip(&bomb).is_none());
        assert!(gunzip(b"not gzip").is_none());
    }

    #[test]
    fn large_results_are_packed_small_ones_are_not() {
        let small = rpc_result(5, &[1, 2, 3, 4]);
        assert_eq!(&small.body[12..], &[1, 2, 3, 4]);
        let large = rpc_result(5, &vec![0u8; 8000]);
        assert_eq!(
            u32::from_le_bytes(large.body[12..16].try_into().unwrap()),
            GZIP_PACKED
        );
    }
}
