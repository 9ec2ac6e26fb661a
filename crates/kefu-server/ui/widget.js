// Embeddable chat widget. On the merchant's page:
//   <script src="https://YOUR-KEFU/widget.js" data-shop="your-shop" async></script>
// Logged-in shoppers: add data-customer-id, data-expires and data-signature
// (hex HMAC-SHA256 of "customer_id:expires" with the shop's secret, computed
// on the merchant's server). On a product page, data-sku="…" offers the
// product as a card (咨询此商品).
(function () {
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var shop = script.getAttribute('data-shop');
  var q = '?embed=1';
  // data-sku on a product page: the chat opens with 咨询此商品 ready to send.
  ['customer-id', 'expires', 'signature', 'sku'].forEach(function (k) {
    var v = script.getAttribute('data-' + k);
    if (v) q += '&' + k.replace('-', '_') + '=' + encodeURIComponent(v);
  });
  var launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.setAttribute('aria-label', '在线客服');
  launcher.textContent = '客服';
  launcher.style.cssText = 'position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#1a56db;color:#fff;font:600 14px sans-serif;box-shadow:0 4px 12px rgba(0,0,0,.2);cursor:pointer;z-index:2147483646';
  // Unread replies while the panel is closed: a count on the launcher and
  // the last one's first words beside it (text only).
  var badge = document.createElement('span');
  badge.setAttribute('aria-hidden', 'true');
  badge.style.cssText = 'position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;background:#d92d20;color:#fff;font:600 12px/20px sans-serif;text-align:center;display:none';
  launcher.appendChild(badge);
  var preview = document.createElement('div');
  preview.setAttribute('role', 'status');
  preview.style.cssText = 'position:fixed;right:20px;bottom:84px;max-width:260px;padding:8px 12px;border-radius:10px;background:#fff;color:#1f2937;font:14px/20px sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.18);cursor:pointer;z-index:2147483646;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;display:none';
  preview.addEventListener('click', function () { launcher.click(); });
  var frame = null;
  function shown() { return frame && frame.style.display !== 'none'; }
  function tell() { if (frame) frame.contentWindow.postMessage({ kefu: 'panel', open: shown() }, origin); }
  function unread(count, text) {
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.style.display = count > 0 ? 'block' : 'none';
    launcher.setAttribute('aria-label', count > 0 ? '在线客服，' + count + ' 条未读' : '在线客服');
    preview.textContent = text || '';
    preview.style.display = count > 0 && text && !shown() ? 'block' : 'none';
  }
  function close() { if (frame) { frame.style.display = 'none'; tell(); launcher.focus(); } }
  launcher.addEventListener('click', function () {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.title = '在线客服';
      frame.src = origin + '/chat/' + encodeURIComponent(shop) + q;
      var small = window.innerWidth < 480;
      frame.style.cssText = 'position:fixed;z-index:2147483647;border:0;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.2);' +
        (small ? 'inset:0;width:100%;height:100%' : 'right:20px;bottom:88px;width:380px;height:640px;max-height:calc(100vh - 108px);border-radius:12px');
      document.body.appendChild(frame);
    } else {
      frame.style.display = frame.style.display === 'none' ? 'block' : 'none';
      tell();
    }
    if (shown()) { preview.style.display = 'none'; frame.focus(); }
  });
  window.addEventListener('message', function (e) {
    if (e.origin !== origin || !e.data) return;
    if (e.data.kefu === 'close') close();
    if (e.data.kefu === 'unread') unread(Number(e.data.count) || 0, String(e.data.preview || ''));
  });
  document.body.appendChild(preview);
  document.body.appendChild(launcher);
})();
