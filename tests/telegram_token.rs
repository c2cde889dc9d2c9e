//! The bot token never reaches an error message, a `Debug` output or a log
//! line. Its own test binary: it captures every log line of the process
//! through a thread-local subscriber, which tracing's global call-site cache
//! makes unreliable while other tests of the same binary log concurrently.

mod telegram_common;

use std::sync::{Arc, Mutex};

use orgform::sandbox::FaultOptions;
use orgform::sandbox::seed::BOT_ID;
use orgform::state::Right;
use orgform::store::Store;
use orgform::telegram::{self, ApiCall, ReadError};
use telegram_common::*;

#[test]
fn the_token_never_leaks() {
    use std::io::Write;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let desired = acme();
    let mut outputs: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    runtime.block_on(async {
        let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
        let real = sandbox.token().to_string();
        secrets.push(real.clone());
        let good = client(&sandbox);
        outputs.push(format!("{good:?}"));

        // A wrong token: 401 for the whole run.
        let wrong = format!("{}:AAwrongSECRETtoken_000000000", BOT_ID);
        secrets.push(wrong.clone());
        let bad = client_for(&sandbox.base_url(), &wrong, fast());
        let err = telegram::read(&bad, &desired, &mut Store::default(), unix_now())
            .await
            .unwrap_err();
        outputs.extend([err.to_string(), format!("{err:?}")]);
        if let ReadError::Telegram(e) = &err {
            outputs.push(e.hint().unwrap_or_default());
        }

        // Refused changes.
        let provider = telegram::TelegramProvider::new(good.clone());
        let chat = &desired.state.chats["platform"];
        let outsider = *desired
            .people
            .keys()
            .find(|u| !chat.admins.contains_key(u) && !chat.members.contains_key(u))
            .unwrap();
        let change = orgform::plan::Change {
            address: orgform::state::Address::admin("platform", "nobody"),
            chat: "platform".into(),
            chat_id: chat.id,
            chat_type: chat.kind,
            action: orgform::plan::Action::Update,
            step: orgform::plan::Step::Promotions,
            op: orgform::plan::Op::Promote {
                user: outsider,
                rights: [Right::PinMessages].into_iter().collect(),
            },
            before: orgform::plan::Value::Nothing,
            after: orgform::plan::Value::Nothing,
            why: vec![],
            reversible: true,
            person: None,
            undeclared: false,
            seat: None,
        };
        use orgform::apply::Provider;
        let err = provider.execute(&change).await.unwrap_err();
        outputs.extend([err.to_string(), format!("{err:?}")]);

        // A connection that fails: nothing listens on this port any more.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let nowhere = client_for(&format!("http://{closed}"), &real, fast());
        let err = nowhere
            .call_value(&ApiCall::read("getMe", None))
            .await
            .unwrap_err();
        outputs.extend([err.to_string(), format!("{err:?}")]);
        assert!(
            matches!(err.kind, telegram::ErrorKind::Transport { .. }),
            "{err}"
        );

        // A server that echoes the URL.
        let (url, _) = garbage_server().await;
        let echo = client_for(&url, &real, fast());
        let err = echo
            .call_value(&ApiCall::read("getChat", Some(-1)))
            .await
            .unwrap_err();
        outputs.extend([err.to_string(), format!("{err:?}")]);
        outputs.push(format!(
            "{:?}",
            telegram::load_token(None, Some(&real)).unwrap()
        ));
        sandbox.shutdown().await.unwrap();
    });
    outputs.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());
    let everything = outputs.join("\n");
    // The log capture works: the transport retries were logged.
    assert!(
        everything.contains("retrying"),
        "no logs captured:\n{everything}"
    );
    assert!(
        everything.contains("Unauthorized")
            && everything.contains("bots can't add new chat members"),
        "{everything}"
    );
    for secret in &secrets {
        let hidden = secret.split_once(':').unwrap().1;
        assert!(
            !everything.contains(hidden),
            "the token leaked:\n{everything}"
        );
    }
}
