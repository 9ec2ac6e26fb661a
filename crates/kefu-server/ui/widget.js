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
  var frame = null;
  function close() { if (frame) { frame.style.display = 'none'; launcher.focus(); } }
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
    }
    if (frame.style.display !== 'none') frame.focus();
  });
  window.addEventListener('message', function (e) {
    if (e.origin === origin && e.data && e.data.kefu === 'close') close();
  });
  document.body.appendChild(launcher);
})();
