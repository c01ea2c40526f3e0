/** The plugin's CSS, added once to the page (class names prefixed ``ra-`` so BBB's styles are untouched). */
const CSS = `
.ra-window { width: 400px; max-height: 80vh; overflow-y: auto; font-family: "Source Sans Pro", "DejaVu Sans", Arial, sans-serif;
  font-size: 14px; color: #1c2733; background: #fff; border-radius: 8px; }
.ra-panel { padding: 14px 16px; }
.ra-panel + .ra-panel { border-top: 1px solid #d6dce3; }
.ra-head { display: flex; align-items: center; justify-content: space-between; margin-bottom: 8px; }
.ra-head h2 { font-size: 17px; margin: 0; }
.ra-close { background: none; border: 0; font-size: 20px; cursor: pointer; color: #4e5a66; }
.ra-muted { color: #4e5a66; font-size: 13px; margin: 4px 0 8px; }
.ra-search { width: 100%; box-sizing: border-box; padding: 6px 8px; border: 1px solid #8b9aa8; border-radius: 4px; font-size: 14px; }
.ra-list { list-style: none; margin: 8px 0; padding: 0; }
.ra-list li label { display: flex; gap: 8px; align-items: baseline; padding: 4px 2px; cursor: pointer; }
.ra-list li.ra-off label { color: #8b9aa8; cursor: not-allowed; }
.ra-tag { font-size: 11px; background: #e4ecf5; color: #0f70d7; border-radius: 3px; padding: 0 4px; }
.ra-pager { display: flex; align-items: center; justify-content: space-between; font-size: 13px; }
.ra-confirm { background: #f4f7fa; border-radius: 4px; padding: 6px 8px; margin: 8px 0; word-break: break-all; }
.ra-btn { background: #0f70d7; color: #fff; border: 0; border-radius: 4px; padding: 7px 12px; font-size: 14px; cursor: pointer; margin: 2px 4px 2px 0; }
.ra-btn:disabled { background: #8b9aa8; cursor: default; }
.ra-btn.ra-light { background: #e4ecf5; color: #0f3f73; }
.ra-btn.ra-current { background: #0b4d95; color: #fff; box-shadow: inset 0 0 0 2px #f7b500; }
.ra-btn.ra-danger { background: #df2721; }
.ra-code { font-size: 44px; font-weight: bold; letter-spacing: 4px; text-align: center; margin: 10px 0 4px;
  font-family: "DejaVu Sans Mono", monospace; }
.ra-countdown { text-align: center; font-size: 16px; margin-bottom: 8px; }
.ra-expired { color: #df2721; }
.ra-error { color: #b3140f; background: #fdecea; border-radius: 4px; padding: 6px 8px; margin: 6px 0; }
.ra-reply { border-radius: 4px; padding: 6px 8px; margin: 8px 0 0; }
.ra-reply[data-status="ok"] { color: #0b6b2f; background: #e6f4ea; }
.ra-reply[data-status="error"] { color: #b3140f; background: #fdecea; }
.ra-reply[data-status="pending"] { color: #4e5a66; background: #f4f7fa; }
.ra-section { margin-top: 10px; }
.ra-section h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .5px; color: #4e5a66; margin: 0 0 4px; }
.ra-input { display: flex; align-items: center; justify-content: space-between; gap: 6px; padding: 3px 0; }
.ra-signal { font-size: 12px; border-radius: 3px; padding: 0 5px; }
.ra-signal[data-signal="picture"] { background: #e6f4ea; color: #0b6b2f; }
.ra-signal[data-signal="no-picture"] { background: #fff4e0; color: #8a5300; }
.ra-signal[data-signal="not-connected"], .ra-signal[data-signal="unknown"] { background: #eef1f4; color: #4e5a66; }
.ra-row { display: flex; gap: 6px; align-items: center; }
.ra-row input { flex: 1; padding: 6px 8px; border: 1px solid #8b9aa8; border-radius: 4px; font-size: 14px; }
.ra-notice { background: #fff4e0; color: #5c3900; border-radius: 4px; padding: 8px; margin: 0 0 8px; }
`;

const STYLE_ID = 'roomagent-plugin-style';

export function installStyles(doc: Document = document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.appendChild(style);
}
