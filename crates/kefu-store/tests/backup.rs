//! `kefu backup`: a copy of the live SQLite database taken while messages
//! are being written is whole and consistent — every conversation's last seq
//! matches the messages the copy holds, and SQLite finds nothing wrong in it.

use std::sync::Arc;

use kefu_core::clock::Timestamp;
use kefu_core::conversation::*;
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::*;
use kefu_core::money::Fen;
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::Store;
use kefu_store::Durability;
use kefu_store::sqlite::SqliteStore;

const T0: Timestamp = Timestamp(1_763_800_000_000);
const CONVERSATIONS: usize = 8;
const MESSAGES: usize = 150;

fn id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_is_consistent() {
    let dir = std::env::temp_dir().join(format!("kefu-backup-{}", id().simple()));
    let store = Arc::new(SqliteStore::open(&dir.join("kefu.db"), Durability::Normal).await.expect("open"));
    let shop = shop(&store, "backup-shop").await;
    let mut conversations = Vec::new();
    for n in 0..CONVERSATIONS {
        let customer = customer(shop.id, n);
        store.upsert_customers(std::slice::from_ref(&customer)).await.expect("customer");
        let opened = Conversation::opened(
            ConversationId::from_uuid(id()),
            shop.id,
            customer.id,
            ConversationStatus::Queued,
            0,
            T0,
        );
        conversations.push((store.open_conversation(&opened).await.expect("conversation"), customer.id));
    }

    // Shoppers keep writing while the copy is taken.
    let writers: Vec<_> = conversations
        .iter()
        .map(|(conversation, customer)| {
            let (store, conversation, customer) = (store.clone(), conversation.id, *customer);
            tokio::spawn(async move {
                for n in 0..MESSAGES {
                    let message = NewMessage {
                        id: MessageId::from_uuid(id()),
                        conversation_id: conversation,
                        sender: Sender::Customer(customer),
                        kind: MessageKind::Text,
                        text: MessageText::parse(&format!("第 {n} 条消息")).expect("text"),
                        client_msg_id: None,
                        at: T0.plus_millis(n as i64),
                    };
                    store.append_message(message).await.expect("append");
                }
            })
        })
        .collect();
    let photo = image(shop.id, conversations[0].1);
    store.put_attachment(&photo, None).await.expect("image");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let copy = dir.join("copy.db");
    store.backup_to(&copy).await.expect("backup");
    for w in writers {
        w.await.expect("writer");
    }

    let db = rusqlite::Connection::open(&copy).expect("open copy");
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    drop(db);
    let restored = SqliteStore::open(&copy, Durability::Normal).await.expect("open the copy as a store");
    let mut copied = 0;
    for (conversation, _) in &conversations {
        let c = restored.conversation(conversation.id).await.expect("read").expect("in the copy");
        let messages = restored.messages_after(conversation.id, 0, 1_000).await.expect("messages");
        assert_eq!(messages.len() as i64, c.last_seq, "the conversation row and its messages are of one moment");
        assert!(messages.iter().enumerate().all(|(n, m)| m.seq == n as i64 + 1), "no gap in the copy");
        copied += messages.len();
    }
    // The live database has everything; the copy whatever was committed when it was taken.
    let live: usize = {
        let mut total = 0;
        for (conversation, _) in &conversations {
            total += store.messages_after(conversation.id, 0, 1_000).await.expect("live").len();
        }
        total
    };
    assert_eq!(live, CONVERSATIONS * MESSAGES);
    assert!(copied <= live);
    assert!(kefu_store::sqlite_images_path(&copy).exists(), "the images are copied beside");
    assert_eq!(restored.attachment(photo.id).await.expect("read"), Some(photo), "with the copy's images");
    eprintln!("the copy holds {copied} of {live} messages");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn shop(store: &SqliteStore, slug: &str) -> Shop {
    let shop = Shop {
        id: ShopId::from_uuid(id()),
        slug: ShopSlug::parse(slug).expect("slug"),
        name: format!("{slug} 店"),
        secret: ShopSecret::new("s".into()),
        created_at: T0,
    };
    store.create_shop(&shop).await.expect("shop");
    shop
}

fn customer(shop: ShopId, n: usize) -> Customer {
    Customer {
        id: CustomerId::from_uuid(id()),
        shop_id: shop,
        external_id: Some(format!("c{n}")),
        nickname: format!("买家{n}"),
        tier: Tier::Normal,
        tags: vec![],
        phone: None,
        lifetime_spend: Fen(0),
        complaint_count: 0,
        created_at: T0,
    }
}

fn image(shop: ShopId, customer: CustomerId) -> kefu_core::attachment::Attachment {
    kefu_core::attachment::Attachment {
        id: AttachmentId::from_uuid(id()),
        shop_id: shop,
        customer_id: customer,
        uploaded_by: Sender::Customer(customer),
        kind: kefu_core::attachment::ImageKind::Png,
        bytes: b"\x89PNG\r\n\x1a\n-photo".to_vec(),
        created_at: T0,
    }
}

/// Images sent before they had a database of their own (kefu.db's
/// `attachments`, migration 0009) are still shown, owned and expired; new
/// ones go to `kefu-images.db`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_from_before_the_image_database_are_still_read_and_expired() {
    let dir = std::env::temp_dir().join(format!("kefu-images-{}", id().simple()));
    let path = dir.join("kefu.db");
    let store = SqliteStore::open(&path, Durability::Normal).await.expect("open");
    let shop = shop(&store, "legacy-shop").await;
    let customer = customer(shop.id, 0);
    store.upsert_customers(std::slice::from_ref(&customer)).await.expect("customer");
    drop(store);
    // An image as the last version stored it: in kefu.db itself.
    let old = image(shop.id, customer.id);
    let db = rusqlite::Connection::open(&path).expect("open kefu.db");
    db.execute(
        "INSERT INTO attachments (id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at) \
         VALUES (?1, ?2, ?3, 'customer', ?3, 'png', ?4, ?5)",
        rusqlite::params![old.id.as_uuid(), shop.id.as_uuid(), customer.id.as_uuid(), old.bytes, T0.millis()],
    )
    .expect("legacy row");
    drop(db);

    let store = SqliteStore::open(&path, Durability::Normal).await.expect("reopen");
    let new = kefu_core::attachment::Attachment { created_at: T0.plus_millis(10), ..image(shop.id, customer.id) };
    store.put_attachment(&new, None).await.expect("new image");
    assert_eq!(store.attachment(old.id).await.expect("read"), Some(old.clone()));
    assert_eq!(store.attachment_owner(old.id).await.expect("owner"), Some((shop.id, customer.id)));
    assert_eq!(store.attachment(new.id).await.expect("read"), Some(new.clone()));
    let in_main: i64 = rusqlite::Connection::open(&path)
        .expect("open")
        .query_row("SELECT count(*) FROM attachments WHERE id = ?1", [new.id.as_uuid()], |r| r.get(0))
        .expect("count");
    assert_eq!(in_main, 0, "a new image is written to kefu-images.db, not kefu.db");
    assert_eq!(store.delete_attachments_before(T0.plus_millis(5), 10).await.expect("expire"), 1);
    assert_eq!(store.attachment(old.id).await.expect("read"), None, "the old one expired from kefu.db");
    assert_eq!(store.attachment(new.id).await.expect("read"), Some(new));
    let _ = std::fs::remove_dir_all(&dir);
}
