//! The merchant's data: customers, products, orders and shipments, as the
//! functions `SqliteStore`'s verbs run on a pooled connection.

use std::collections::HashMap;

use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::Timestamp;
use kefu_core::customer::Customer;
use kefu_core::id::*;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderNo, OrderWithShipments, Shipment, ShipmentEvent};
use kefu_core::store::StoreResult;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::be;
use super::rows::*;
use crate::codec::{self, corrupt};

pub(super) fn upsert_customers(c: &Connection, list: &[Customer]) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO customers (id, shop_id, external_id, nickname, tier, tags, phone, lifetime_spend, complaint_count, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (shop_id, external_id) DO UPDATE SET nickname = excluded.nickname, tier = excluded.tier,
               tags = excluded.tags, phone = excluded.phone, lifetime_spend = excluded.lifetime_spend,
               complaint_count = excluded.complaint_count",
        )
        .map_err(be)?;
    for x in list {
        stmt.execute(params![
            x.id.as_uuid(),
            x.shop_id.as_uuid(),
            x.external_id,
            x.nickname,
            x.tier.as_str(),
            codec::join_tags(&x.tags),
            x.phone.as_ref().map(|p| p.as_str()),
            x.lifetime_spend.0,
            x.complaint_count,
            x.created_at.millis()
        ])
        .map_err(be)?;
    }
    Ok(())
}

pub(super) fn customer(c: &Connection, id: CustomerId) -> StoreResult<Option<Customer>> {
    one(
        c,
        &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"),
        [id.as_uuid()],
        |r| customer_row_at(r, 0),
        customer_from,
    )
}

pub(super) fn customer_ids_by_external(
    c: &Connection,
    shop: ShopId,
    ids: Vec<String>,
) -> StoreResult<HashMap<String, CustomerId>> {
    let mut stmt = c.prepare_cached("SELECT id FROM customers WHERE shop_id = ?1 AND external_id = ?2").map_err(be)?;
    let mut out = HashMap::new();
    for ext in ids {
        if let Some(id) = stmt.query_row(params![shop.as_uuid(), ext], |r| uuid_col(r, 0)).optional().map_err(be)? {
            out.insert(ext, CustomerId::from_uuid(id));
        }
    }
    Ok(out)
}

pub(super) fn upsert_products(c: &Connection, list: &[Product]) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO products (id, shop_id, sku, name, model, category, price) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (shop_id, sku) DO UPDATE SET name = excluded.name, model = excluded.model,
               category = excluded.category, price = excluded.price",
        )
        .map_err(be)?;
    for p in list {
        stmt.execute(params![
            p.id.as_uuid(),
            p.shop_id.as_uuid(),
            p.sku,
            p.name,
            p.model,
            p.category.joined(),
            p.price.0
        ])
        .map_err(be)?;
    }
    Ok(())
}

fn product((id, shop, sku, name, model, category, price): ProductRow) -> StoreResult<Product> {
    Ok(Product {
        id: ProductId::from_uuid(id),
        shop_id: ShopId::from_uuid(shop),
        sku,
        name,
        model,
        category: CategoryPath::parse(&category).map_err(|_| corrupt("category", category.clone()))?,
        price: Fen(price),
    })
}

pub(super) fn products(c: &Connection, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>> {
    many(
        c,
        &format!("SELECT {PRODUCT_COLS} FROM products WHERE shop_id = ?1 ORDER BY sku LIMIT {limit}"),
        params![shop.as_uuid()],
        product_from,
        product,
    )
}

pub(super) fn product_by_sku(c: &Connection, shop: ShopId, sku: &str) -> StoreResult<Option<Product>> {
    one(
        c,
        &format!("SELECT {PRODUCT_COLS} FROM products WHERE shop_id = ?1 AND sku = ?2"),
        params![shop.as_uuid(), sku],
        product_from,
        product,
    )
}

pub(super) fn upsert_orders(c: &Connection, list: &[Order]) -> StoreResult<()> {
    for o in list {
        // Stale updates (older updated_at) leave the row alone.
        let stored: Option<(Uuid, i64)> = c
            .prepare_cached("SELECT id, updated_at FROM orders WHERE shop_id = ?1 AND order_no = ?2")
            .and_then(|mut s| {
                s.query_row(params![o.shop_id.as_uuid(), o.order_no.as_str()], |r| Ok((uuid_col(r, 0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(be)?;
        let id = match stored {
            Some((_, updated)) if updated > o.updated_at.millis() => continue,
            Some((id, _)) => id,
            None => o.id.as_uuid(),
        };
        c.prepare_cached(
            "INSERT INTO orders (id, shop_id, order_no, customer_id, status, total, province, city, address, created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, status = excluded.status, total = excluded.total,
               province = excluded.province, city = excluded.city, address = excluded.address, created_at = excluded.created_at,
               paid_at = excluded.paid_at, shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at,
               completed_at = excluded.completed_at, cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                o.shop_id.as_uuid(),
                o.order_no.as_str(),
                o.customer_id.as_uuid(),
                o.status.as_str(),
                o.total.0,
                o.province,
                o.city,
                o.address,
                o.created_at.millis(),
                o.paid_at.map(Timestamp::millis),
                o.shipped_at.map(Timestamp::millis),
                o.delivered_at.map(Timestamp::millis),
                o.completed_at.map(Timestamp::millis),
                o.cancelled_at.map(Timestamp::millis),
                o.updated_at.millis()
            ])
        })
        .map_err(be)?;
        c.execute("DELETE FROM order_items WHERE order_id = ?1", [id]).map_err(be)?;
        let mut ins = c
            .prepare_cached("INSERT INTO order_items (order_id, line, sku, name, quantity, unit_price) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(be)?;
        for (line, item) in o.items.iter().enumerate() {
            ins.execute(params![id, line as i64, item.sku, item.name, item.quantity, item.unit_price.0]).map_err(be)?;
        }
    }
    Ok(())
}

pub(super) fn order(c: &Connection, id: OrderId) -> StoreResult<Option<Order>> {
    let row = one(c, &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"), [id.as_uuid()], order_row, Ok)?;
    row.map(|r| order_from(c, r)).transpose()
}

pub(super) fn order_by_no(c: &Connection, shop: ShopId, no: String) -> StoreResult<Option<Order>> {
    let row = one(
        c,
        &format!("SELECT {ORDER_COLS} FROM orders WHERE shop_id = ?1 AND order_no = ?2"),
        params![shop.as_uuid(), no],
        order_row,
        Ok,
    )?;
    row.map(|r| order_from(c, r)).transpose()
}

pub(super) fn order_ids_by_no(
    c: &Connection,
    shop: ShopId,
    nos: Vec<OrderNo>,
) -> StoreResult<HashMap<OrderNo, OrderId>> {
    let mut stmt = c.prepare_cached("SELECT id FROM orders WHERE shop_id = ?1 AND order_no = ?2").map_err(be)?;
    let mut out = HashMap::new();
    for no in nos {
        if let Some(id) =
            stmt.query_row(params![shop.as_uuid(), no.as_str()], |r| uuid_col(r, 0)).optional().map_err(be)?
        {
            out.insert(no, OrderId::from_uuid(id));
        }
    }
    Ok(out)
}

pub(super) fn orders_of_customer(c: &Connection, customer: CustomerId, limit: u32) -> StoreResult<Vec<Order>> {
    let rows = many(
        c,
        &format!("SELECT {ORDER_COLS} FROM orders WHERE customer_id = ?1 ORDER BY created_at DESC LIMIT {limit}"),
        params![customer.as_uuid()],
        order_row,
        Ok,
    )?;
    rows.into_iter().map(|r| order_from(c, r)).collect()
}

/// Queries on one connection, so the caller waits for one reader, not one per order.
pub(super) fn orders_with_shipments(
    c: &Connection,
    customer: CustomerId,
    limit: u32,
) -> StoreResult<Vec<OrderWithShipments>> {
    let mut open = open_request_kinds(c, customer)?;
    orders_of_customer(c, customer, limit)?
        .into_iter()
        .map(|order| {
            let open_requests = open.remove(&order.id).unwrap_or_default();
            Ok(OrderWithShipments { shipments: shipments_of_order(c, order.id)?, order, open_requests })
        })
        .collect()
}

/// The kinds of the open requests on the customer's orders, in one query.
fn open_request_kinds(
    c: &Connection,
    customer: CustomerId,
) -> StoreResult<HashMap<OrderId, Vec<kefu_core::botturn::RequestKind>>> {
    let rows = many(
        c,
        "SELECT r.order_id, r.kind FROM order_requests r JOIN orders o ON o.id = r.order_id \
         WHERE o.customer_id = ?1 AND r.status = 'open'",
        [customer.as_uuid()],
        |r| Ok((uuid_col(r, 0)?, r.get::<_, String>(1)?)),
        |(order, kind)| {
            let kind =
                kefu_core::botturn::RequestKind::parse(&kind).ok_or_else(|| corrupt("order_requests.kind", kind))?;
            Ok((OrderId::from_uuid(order), kind))
        },
    )?;
    let mut open: HashMap<OrderId, Vec<_>> = HashMap::new();
    for (order, kind) in rows {
        open.entry(order).or_default().push(kind);
    }
    Ok(open)
}

pub(super) fn upsert_shipments(c: &Connection, list: &[Shipment]) -> StoreResult<()> {
    for s in list {
        let stored: Option<Uuid> = c
            .prepare_cached("SELECT id FROM shipments WHERE shop_id = ?1 AND tracking_no = ?2")
            .and_then(|mut st| st.query_row(params![s.shop_id.as_uuid(), s.tracking_no], |r| uuid_col(r, 0)).optional())
            .map_err(be)?;
        let id = stored.unwrap_or(s.id.as_uuid());
        c.prepare_cached(
            "INSERT INTO shipments (id, shop_id, order_id, carrier, tracking_no, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET order_id = excluded.order_id, carrier = excluded.carrier, updated_at = excluded.updated_at",
        )
        .and_then(|mut st| st.execute(params![id, s.shop_id.as_uuid(), s.order_id.as_uuid(), s.carrier, s.tracking_no, s.updated_at.millis()]))
        .map_err(be)?;
        c.execute("DELETE FROM shipment_events WHERE shipment_id = ?1", [id]).map_err(be)?;
        let mut ins = c
            .prepare_cached("INSERT INTO shipment_events (shipment_id, line, at, location, description) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(be)?;
        for (line, e) in s.events.iter().enumerate() {
            ins.execute(params![id, line as i64, e.at.millis(), e.location, e.description]).map_err(be)?;
        }
    }
    Ok(())
}

pub(super) fn shipments_of_order(c: &Connection, order: OrderId) -> StoreResult<Vec<Shipment>> {
    let rows = many(
        c,
        "SELECT id, shop_id, order_id, carrier, tracking_no, updated_at FROM shipments WHERE order_id = ?1 ORDER BY updated_at",
        [order.as_uuid()],
        |r| {
            Ok((
                uuid_col(r, 0)?,
                uuid_col(r, 1)?,
                uuid_col(r, 2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        },
        Ok,
    )?;
    rows.into_iter()
        .map(|(id, shop, order, carrier, tracking_no, updated)| {
            let events = many(
                c,
                "SELECT at, location, description FROM shipment_events WHERE shipment_id = ?1 ORDER BY line",
                [id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
                |(at, location, description)| Ok(ShipmentEvent { at: ts(at), location, description }),
            )?;
            Ok(Shipment {
                id: ShipmentId::from_uuid(id),
                shop_id: ShopId::from_uuid(shop),
                order_id: OrderId::from_uuid(order),
                carrier,
                tracking_no,
                events,
                updated_at: ts(updated),
            })
        })
        .collect()
}
