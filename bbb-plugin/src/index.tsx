/** Entry point: BBB's client adds this script with ``uuid`` and ``pluginName`` attributes and a
 * ``<div id=uuid>`` to render into (bigbluebutton-html5 plugins-engine loader, SDK 0.0.x). */
import { createRoot } from 'react-dom/client';
import { RoomagentPlugin } from './plugin';

const script = document.currentScript;
const uuid = script?.getAttribute('uuid') || 'root';
const pluginName = script?.getAttribute('pluginName') || 'roomagent';
const container = document.getElementById(uuid);
if (container) {
  createRoot(container).render(<RoomagentPlugin uuid={uuid} pluginName={pluginName} />);
}
