/*
 * The host side of bigbluebutton-html-plugin-sdk 0.0.x for roomagent's fake BigBlueButton page.
 *
 * Test and demo infrastructure, plain browser JS, no build step. It does what BBB 3.0's html5 client
 * (bigbluebutton-html5/imports/ui/components/plugins-engine) does for the parts the roomagent plugin
 * uses, through the same browser-level contract the SDK's plugin side speaks:
 *
 *  - loading: the server fetched and judged the manifests (fake_bbb_plugins.py, as akka-apps'
 *    Plugins.scala does); this asks for the stored rows (window.__FAKE_BBB__.pluginsUrl, the stand-in
 *    for the client's GraphQL `plugin` query), skips rows with a loadFailureReason, creates each
 *    plugin's API object in window.bbb_plugins[uuid] (pluginName, getSessionToken, the setters, and
 *    localesBaseUrl only where the client generation passes it), adds a <div id=uuid> and a
 *    <script uuid=… pluginName=… [integrity]>;
 *  - extensible areas: every item's id is overwritten with its index (generateItemWithId) where the
 *    generation does; setActionButtonDropdownItems renders options/separators into a "+" menu
 *    ([data-test="actionsButton"], hidden while there is nothing in it; an option's dataTest becomes
 *    data-test only where the generation renders it; tooltip is ignored, as upstream);
 *    setFloatingWindows creates one positioned box (id = the item id, class floating-window-content)
 *    per window and calls its contentFunction(element) once, unmounting the returned root when the
 *    window goes away;
 *  - data hooks: answers PLUGIN_SUBSCRIBED_TO_BBB_CORE with BBB_CORE_SENT_NEW_DATA for
 *    Hooks::UseCurrentUser, Hooks::UseMeeting and the plugin-settings custom subscription
 *    (meeting_clientPluginSettings); other hooks stay "loading", as they would without data;
 *  - ui data: CURRENT_LOCALE for useUiData/getUiData (the SDK's useLocaleMessages reads it);
 *  - ui commands: notification.send shows a toast; the meeting-status event says the user is in.
 *
 * Not implemented (the plugin does not use them): data channels, custom GraphQL queries, other
 * extensible areas (their setters accept and ignore items), dragging a "movable" floating window.
 */
(function roomagentPluginHost() {
  'use strict';

  var config = window.__FAKE_BBB__ || {};
  // The client generation's facts (roomagent/demo/bbb_generations.py), from the page's own config.
  var GEN = (function generationFacts() {
    var node = document.getElementById('fake-bbb-config');
    try {
      var facts = node && JSON.parse(node.textContent).generation;
      if (facts) return facts;
    } catch (error) { /* no config: the newest behaviour */ }
    return { overwrites_item_ids: true, renders_data_test: true, passes_locales_base_url: true };
  }());
  var EVENTS = {
    SENT: 'BBB_CORE_SENT_NEW_DATA',
    SUBSCRIBED: 'PLUGIN_SUBSCRIBED_TO_BBB_CORE',
    MEETING_STATUS: 'BBB_CORE_UPDATED_MEETING_STATUS',
    NOTIFY: 'SEND_NOTIFICATION_COMMAND',
    UI_LISTENER: 'UI_DATA_LISTENER_SUBSCRIBED',
    UI_GETTER: 'UI_DATA_GETTER_SUBSCRIBED',
  };
  var HOOKS = {
    CURRENT_USER: 'Hooks::UseCurrentUser',
    MEETING: 'Hooks::UseMeeting',
    CUSTOM_SUBSCRIPTION: 'Hooks::CustomSubscription',
  };
  var OPTION = 'ACTION_BUTTON_DROPDOWN_OPTION';
  var SEPARATOR = 'ACTION_BUTTON_DROPDOWN_SEPARATOR';
  var SETTERS = [
    'setUserListDropdownItems', 'setPresentationToolbarItems', 'setActionsBarItems',
    'setAudioSettingsDropdownItems', 'setPresentationDropdownItems', 'setNavBarItems',
    'setScreenshareHelperItems', 'setUserCameraHelperItems', 'setOptionsDropdownItems',
    'setCameraSettingsDropdownItems', 'setUserCameraDropdownItems',
    'setUserListItemAdditionalInformation', 'setGenericContentItems',
  ];

  var actionItems = {}; // uuid -> items, in plugin load order
  var floating = {}; // window id -> {box, root}

  function hostRoot() {
    var root = document.getElementById('bbb-plugin-host');
    if (!root) {
      root = document.createElement('div');
      root.id = 'bbb-plugin-host';
      document.body.appendChild(root);
    }
    return root;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- the "+" menu (BBB: actions-bar/actions-dropdown) ----
  var menu = null;
  var plusButton = null;

  function buildActions() {
    var bar = el('div', { id: 'bbb-plugin-actions', style:
      'position:fixed;left:16px;bottom:12px;z-index:1000;font-family:"DejaVu Sans",sans-serif' });
    plusButton = el('button', { 'data-test': 'actionsButton', 'aria-label': 'Actions', 'aria-haspopup': 'menu', hidden: '',
      style: 'width:44px;height:44px;border-radius:50%;border:0;background:#0f70d7;color:#fff;'
        + 'font-size:26px;line-height:44px;cursor:pointer;box-shadow:0 2px 6px rgba(0,0,0,.4)' }, '+');
    menu = el('div', { role: 'menu', 'data-test': 'actionsDropdown', hidden: '', style:
      'position:absolute;left:0;bottom:54px;min-width:220px;background:#fff;color:#1c2733;'
        + 'border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.4);padding:6px 0' });
    plusButton.addEventListener('click', function () {
      if (menu.hasAttribute('hidden')) { renderMenu(); menu.removeAttribute('hidden'); } else menu.setAttribute('hidden', '');
    });
    bar.appendChild(menu);
    bar.appendChild(plusButton);
    hostRoot().appendChild(bar);
    updatePlus();
  }

  // BBB's own entries (actions-dropdown getAvailableActions: a presenter's "Manage presentations" and
  // polls, a non-presenting moderator's "Take presenter") and the plugins' items: the real client
  // renders "+" only when there is at least one (availableActions.length > 0). Inert stand-ins here.
  function builtInActions() {
    if (config.presenter) return ['Manage presentations', 'Start a poll'];
    return config.role === 'MODERATOR' ? ['Take presenter'] : [];
  }

  function pluginItemCount() {
    return Object.keys(actionItems).reduce(function (n, uuid) { return n + actionItems[uuid].length; }, 0);
  }

  function updatePlus() {
    if (!plusButton) return;
    if (builtInActions().length + pluginItemCount() > 0) plusButton.removeAttribute('hidden');
    else { plusButton.setAttribute('hidden', ''); menu.setAttribute('hidden', ''); }
  }

  function renderMenu() {
    menu.replaceChildren();
    builtInActions().forEach(function (label) {
      menu.appendChild(el('div', { role: 'menuitem', 'aria-disabled': 'true', style: 'padding:8px 14px;color:#8b9aa8' },
        label));
    });
    Object.keys(actionItems).forEach(function (uuid) {
      actionItems[uuid].forEach(function (item) {
        if (item.type === SEPARATOR) {
          menu.appendChild(el('hr', { style: 'border:0;border-top:1px solid #d6dce3;margin:4px 0' }));
        } else if (item.type === OPTION && item.allowed !== false) {
          var attrs = { role: 'menuitem', style: 'display:block;width:100%;text-align:left;border:0;background:none;padding:8px 14px;'
              + 'font-size:15px;cursor:pointer;color:#1c2733' };
          // No title from tooltip (the client never uses it); data-test only where this client passes dataTest.
          if (GEN.renders_data_test && item.dataTest) attrs['data-test'] = item.dataTest;
          var option = el('button', attrs, item.label);
          option.addEventListener('click', function () {
            menu.setAttribute('hidden', '');
            item.onClick();
          });
          menu.appendChild(option);
        }
      });
    });
  }

  // generateItemWithId: the newer clients overwrite whatever id the plugin chose with the item's index.
  function assignId(item, index, fallback) {
    if (!item.setItemId) return;
    if (GEN.overwrites_item_ids) item.setItemId(String(index));
    else if (!item.id) item.setItemId(fallback + index);
  }

  function setActionButtonDropdownItems(uuid, items) {
    (items || []).forEach(function (item, index) { assignId(item, index, uuid + '-action-button-dropdown-'); });
    actionItems[uuid] = items || [];
    updatePlus();
    if (menu && !menu.hasAttribute('hidden')) renderMenu();
  }

  // ---- floating windows (BBB: plugins-engine extensible-areas floating-window) ----
  function setFloatingWindows(uuid, windows) {
    var wanted = {};
    (windows || []).forEach(function (win, index) {
      assignId(win, index, uuid + '-floating-window-');
      var key = uuid + ':' + win.id;
      wanted[key] = true;
      if (floating[key]) return;
      var box = el('div', { id: win.id, class: 'floating-window-content', style:
        'position:fixed;z-index:1001;top:' + win.top + 'px;left:' + win.left + 'px;border-radius:8px;'
          + 'background:' + (win.backgroundColor || '#fff') + ';box-shadow:' + (win.boxShadow || 'none') });
      hostRoot().appendChild(box);
      floating[key] = { box: box, root: win.contentFunction(box) };
    });
    Object.keys(floating).forEach(function (key) {
      if (key.indexOf(uuid + ':') !== 0 || wanted[key]) return;
      var gone = floating[key];
      delete floating[key];
      if (gone.root && gone.root.unmount) gone.root.unmount();
      gone.box.remove();
    });
  }

  // ---- toasts (BBB: uiCommands.notification.send) ----
  function toast(detail) {
    var box = el('div', { 'data-test': 'pluginNotification', role: 'status', style:
      'position:fixed;right:16px;top:16px;z-index:1002;max-width:360px;background:#fff;color:#1c2733;'
        + 'border-left:5px solid #0f70d7;border-radius:4px;padding:10px 14px;box-shadow:0 3px 12px rgba(0,0,0,.35);'
        + 'font-family:"DejaVu Sans",sans-serif;font-size:14px' }, (detail && detail.message) || '');
    hostRoot().appendChild(box);
    setTimeout(function () { box.remove(); }, (detail && detail.options && detail.options.autoClose) || 8000);
  }

  // ---- data hooks ----
  function hookData(hook, args) {
    if (hook === HOOKS.CURRENT_USER) {
      return { userId: config.userId, extId: config.userId, name: config.userName, role: config.role,
        presenter: !!config.presenter, cameras: [] };
    }
    if (hook === HOOKS.MEETING) return { meetingId: config.meetingId, name: config.meetingName };
    if (hook === HOOKS.CUSTOM_SUBSCRIPTION && args && /meeting_clientPluginSettings/.test(args.query || '')) {
      var name = args.variables && args.variables.pluginName;
      var settings = (config.pluginSettings || {})[name];
      return { meeting_clientPluginSettings: settings ? [{ settings: settings }] : [] };
    }
    return undefined;
  }

  window.addEventListener(EVENTS.SUBSCRIBED, function (event) {
    var detail = event.detail || {};
    var data = hookData(detail.hook, detail.hookArguments);
    if (data === undefined) return;
    // Asynchronously, as BBB's client answers from its GraphQL subscriptions.
    setTimeout(function () {
      window.dispatchEvent(new CustomEvent(EVENTS.SENT, { detail: {
        hook: detail.hook, hookArguments: detail.hookArguments, data: { loading: false, data: data } } }));
    }, 0);
  });

  // ---- ui data ----
  function locale() {
    var wanted = config.locale || navigator.language || 'en';
    return { locale: wanted, fallbackLocale: 'en' };
  }
  function answerUiData(name) {
    if (name !== 'CURRENT_LOCALE') return;
    setTimeout(function () { window.dispatchEvent(new CustomEvent(name, { detail: locale() })); }, 0);
  }
  window.addEventListener(EVENTS.UI_LISTENER + '-CURRENT_LOCALE', function () { answerUiData('CURRENT_LOCALE'); });
  window.addEventListener(EVENTS.UI_GETTER + '-CURRENT_LOCALE', function () { answerUiData('CURRENT_LOCALE'); });
  window.addEventListener(EVENTS.NOTIFY, function (event) { toast(event.detail); });

  // ---- loading ----
  function sessionToken() {
    return new URLSearchParams(window.location.search).get('sessionToken') || config.sessionToken || undefined;
  }

  function makeApi(uuid, row) {
    var api = {
      pluginName: row.name,
      // BbbPluginSdk.getPluginApi(uuid, name, localesBaseUrl): the oldest 3.0 client omits the third argument.
      localesBaseUrl: GEN.passes_locales_base_url ? (row.localesBaseUrl || undefined) : undefined,
      mapOfPushEntryFunctions: {},
      getSessionToken: sessionToken,
      setActionButtonDropdownItems: function (items) { setActionButtonDropdownItems(uuid, items); },
      setFloatingWindows: function (windows) { setFloatingWindows(uuid, windows); },
    };
    SETTERS.forEach(function (name) { api[name] = function () {}; });
    return api;
  }

  function newUuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return 'plugin-' + Math.random().toString(16).slice(2);
  }

  function loadRow(row) {
    return new Promise(function (resolve) {
      var uuid = newUuid();
      window.bbb_plugins = window.bbb_plugins || {};
      window.bbb_plugins[uuid] = makeApi(uuid, row);
      hostRoot().appendChild(el('div', { id: uuid, 'data-plugin': row.name }));
      var script = document.createElement('script');
      script.src = row.javascriptEntrypointUrl;
      script.setAttribute('uuid', uuid);
      script.setAttribute('pluginName', row.name);
      if (row.javascriptEntrypointIntegrity) script.setAttribute('integrity', row.javascriptEntrypointIntegrity);
      script.onload = function () { resolve(1); };
      script.onerror = function () { console.error('[plugin-host] could not load ' + row.javascriptEntrypointUrl); resolve(0); };
      document.head.appendChild(script);
    });
  }

  function loadPlugins() {
    var url = config.pluginsUrl + '?sessionToken=' + encodeURIComponent(config.sessionToken || '');
    return fetch(url, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('plugin list: HTTP ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        var rows = ((answer && answer.data && answer.data.plugin) || []).filter(function (row) {
          if (row.loadFailureReason) console.warn('[plugin-host] not loading ' + row.name + ': ' + row.loadFailureReason);
          return !row.loadFailureReason && row.javascriptEntrypointUrl;
        });
        return Promise.all(rows.map(loadRow));
      })
      .catch(function (error) { console.error('[plugin-host] ' + error); return []; })
      .then(function (loaded) {
        // How many plugin scripts ran (a test hook; "0" when the server dropped every manifest).
        var count = loaded.reduce(function (a, b) { return a + b; }, 0);
        document.documentElement.setAttribute('data-plugins-loaded', String(count));
      });
  }

  function start() {
    buildActions();
    window.dispatchEvent(new CustomEvent(EVENTS.MEETING_STATUS, { detail: { data: { userCurrentlyInMeeting: true } } }));
    if (config.pluginsUrl) loadPlugins();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
