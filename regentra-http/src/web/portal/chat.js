// The portal's chat, live. The page works without this script (its forms
// post and redirect); with it, messages arrive over the chat's WebSocket,
// are sent through the API, and the offer to leave an unanswered chat as a
// ticket appears when the server says it stands. Plain ES2020, no library.
(() => {
  'use strict';

  // Set once the page is being left (a form posted, a link followed): the
  // socket closing then is no news.
  let leaving = false;
  window.addEventListener('pagehide', () => { leaving = true; });

  // A form posted the ordinary way (ending the chat, leaving it as a
  // ticket) leaves the page. Its busy button is the portal's forms script's.
  for (const form of document.querySelectorAll('form[data-busy-label]')) {
    form.addEventListener('submit', () => { leaving = true; });
  }

  const root = document.getElementById('chat');
  if (!root || root.dataset.open !== 'true') return;
  const data = root.dataset;
  const log = document.getElementById('chat-log');
  const announcer = document.getElementById('chat-announcer');
  const connection = document.getElementById('chat-connection');
  const offerSlot = document.getElementById('chat-offer-slot');
  const form = document.getElementById('chat-form');
  const box = document.getElementById('chat-body');
  const send = document.getElementById('chat-send');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const seen = new Set(Array.from(log.querySelectorAll('li[data-id]'), (li) => li.dataset.id));

  let clock;
  try {
    clock = new Intl.DateTimeFormat(undefined, {
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: data.timeZone,
    });
  } catch (_) {
    clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }

  for (const keys of root.querySelectorAll('.chat-keys')) keys.hidden = false;

  function say(text) {
    // A fresh node each time, so that screen readers announce it.
    const note = document.createElement('p');
    note.textContent = text;
    announcer.replaceChildren(note);
  }

  function status(text) {
    connection.textContent = text;
  }

  // Adds a message unless it is shown already (a message may come back
  // from the server more than once: after sending, and again in the
  // history a reconnected socket replays), in the order of its id (ids
  // grow with time).
  function show(message) {
    if (!message || !message.id || seen.has(message.id)) return;
    seen.add(message.id);
    const mine = message.author === data.me;
    const who = mine ? 'You' : (message.author_name || 'Service desk');
    const item = document.createElement('li');
    item.className = mine ? 'chat-line chat-mine' : 'chat-line';
    item.dataset.id = message.id;
    const meta = document.createElement('p');
    meta.className = 'chat-meta';
    const name = document.createElement('span');
    name.className = 'chat-who';
    name.textContent = who;
    const time = document.createElement('time');
    time.dateTime = message.at;
    time.textContent = clock.format(new Date(message.at));
    meta.append(name, ' ', time);
    const text = document.createElement('p');
    text.className = 'chat-text';
    text.textContent = message.body;
    item.append(meta, text);
    const later = Array.from(log.children).find((li) => (li.dataset.id || '') > message.id);
    log.insertBefore(item, later || null);
    if (!mine) {
      say(`${who}: ${message.body}`);
      // Someone answered: the server decides what that changes.
      if (data.answered !== 'true') checkWait();
    }
  }

  // The offer to leave the chat as a ticket, as the server makes it.
  function showOffer(minutes) {
    // The offer is the requester's; the service desk's page has none.
    if (data.party === 'staff') return;
    if (document.getElementById('chat-offer')) return;
    const section = document.createElement('section');
    section.className = 'card chat-offer';
    section.id = 'chat-offer';
    section.setAttribute('aria-labelledby', 'chat-offer-title');
    const heading = document.createElement('h2');
    heading.id = 'chat-offer-title';
    heading.textContent = 'Nobody has answered yet';
    const text = document.createElement('p');
    text.textContent = `The service desk has not answered within ${minutes} minute${minutes === 1 ? '' : 's'}. ` +
      'Leave your question as a ticket: everything written here goes into it, and they answer there and by email.';
    const leave = document.createElement('form');
    leave.method = 'post';
    leave.action = data.ticketUrl;
    const token = document.createElement('input');
    token.type = 'hidden';
    token.name = 'csrf_token';
    token.value = csrf;
    const button = document.createElement('button');
    button.type = 'submit';
    button.className = 'button';
    button.textContent = 'Leave it as a ticket';
    leave.append(token, button);
    leave.addEventListener('submit', () => {
      leaving = true;
      button.setAttribute('aria-disabled', 'true');
      button.textContent = 'Creating the ticket…';
    }, { once: true });
    section.append(heading, text, leave);
    offerSlot.replaceChildren(section);
    say('Nobody has answered yet. You can leave your question as a ticket.');
  }

  // The service desk has answered: the page stops saying it waits.
  function answered() {
    const badge = document.getElementById('chat-status');
    if (badge) {
      badge.textContent = 'In progress';
      badge.className = 'badge badge-success';
    }
    const hint = document.getElementById('chat-wait-hint');
    if (hint) hint.remove();
  }

  function hideOffer() {
    offerSlot.replaceChildren();
  }

  let waitTimer = null;
  function planWait(seconds) {
    clearTimeout(waitTimer);
    waitTimer = setTimeout(checkWait, Math.max(0, seconds) * 1000 + 500);
  }

  // Asks the server where the chat stands; false when this page can no
  // longer follow it (signed out, no longer the person's).
  async function checkWait() {
    let response;
    try {
      response = await fetch(data.viewUrl, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch (_) {
      return true; // Offline: the socket's reconnection tries again.
    }
    if (response.status === 401) {
      status('Your session has ended. Reload the page to sign in again.');
      return false;
    }
    if (response.status === 404 || response.status === 403) {
      status('This conversation is no longer available to you. Reload the page.');
      return false;
    }
    if (!response.ok) return true;
    const view = await response.json();
    const wait = view.wait;
    if (wait.answered && data.answered !== 'true') answered();
    data.answered = wait.answered ? 'true' : 'false';
    if (view.chat.status !== 'open') {
      // Ended elsewhere: the page shows the final state.
      window.location.reload();
      return false;
    }
    if (wait.ticket_offered) {
      showOffer(wait.answer_within_minutes);
    } else {
      hideOffer();
      if (wait.ticket_offer_at) {
        const now = Date.parse(response.headers.get('date') || '') || Date.now();
        const left = (Date.parse(wait.ticket_offer_at) - now) / 1000;
        planWait(left > 0 ? left : 5);
      }
    }
    return true;
  }

  // The socket: the server replays the whole conversation on every
  // connection, then sends each new message. On a lost connection it
  // reconnects, waiting longer each time (up to half a minute).
  let socket = null;
  let attempts = 0;
  let retry = null;
  let finished = false;

  function reconnectLater() {
    if (finished || leaving || retry) return;
    const delay = Math.min(30000, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    status('Connection lost. Reconnecting…');
    retry = setTimeout(async () => {
      retry = null;
      if (await checkWait()) connect();
      else finished = true;
    }, delay);
  }

  function connect() {
    if (finished) return;
    const url = new URL(data.socketUrl, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    try {
      socket = new WebSocket(url);
    } catch (_) {
      reconnectLater();
      return;
    }
    socket.addEventListener('open', () => {
      attempts = 0;
      root.dataset.live = 'true';
      status('');
    });
    socket.addEventListener('message', (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (frame.type === 'message') show(frame);
    });
    socket.addEventListener('close', (event) => {
      socket = null;
      root.dataset.live = 'false';
      if (leaving) return;
      if (event.code === 1000) {
        finished = true;
        window.location.reload();
      } else if (event.code === 4401) {
        finished = true;
        status('Your session has ended. Reload the page to sign in again.');
      } else if (event.code === 4403) {
        finished = true;
        status('This conversation is no longer available to you.');
      } else {
        reconnectLater();
      }
    });
  }

  window.addEventListener('online', () => {
    if (!socket && !finished) {
      clearTimeout(retry);
      retry = null;
      attempts = 0;
      connect();
    }
  });

  function fieldError(text) {
    const field = box.closest('.field');
    let error = document.getElementById('chat-body-error');
    if (!text) {
      if (error) error.remove();
      field.classList.remove('has-error');
      box.removeAttribute('aria-invalid');
      box.setAttribute('aria-describedby', 'chat-body-hint');
      return;
    }
    if (!error) {
      error = document.createElement('p');
      error.className = 'field-error';
      error.id = 'chat-body-error';
      field.append(error);
    }
    error.textContent = text;
    field.classList.add('has-error');
    box.setAttribute('aria-invalid', 'true');
    box.setAttribute('aria-describedby', 'chat-body-hint chat-body-error');
  }

  // A refused message's problem document in words.
  function refusal(problem) {
    const error = problem && problem.errors && problem.errors[0];
    if (error && error.field === 'body') return `Your message ${error.message}.`;
    if (error) return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
    if (problem && problem.detail) return `Your message was not sent: ${problem.detail}.`;
    return 'Your message could not be sent. Try again.';
  }

  let sending = false;
  function busy(on) {
    sending = on;
    box.readOnly = on;
    send.setAttribute('aria-disabled', on ? 'true' : 'false');
    send.textContent = on ? 'Sending…' : 'Send';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (sending) return;
    const text = box.value.trim();
    if (!text) {
      fieldError('Write a message first.');
      box.focus();
      return;
    }
    busy(true);
    try {
      const response = await fetch(data.postUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ body: text }),
      });
      if (response.ok) {
        show(await response.json());
        box.value = '';
        fieldError('');
      } else if (response.status === 401) {
        fieldError('Your session has ended: your message was not sent. Copy it, reload the page and sign in again.');
      } else {
        const problem = await response.json().catch(() => null);
        fieldError(refusal(problem));
      }
    } catch (_) {
      fieldError('Your message could not be sent: there is no connection. Try again in a moment.');
    } finally {
      busy(false);
      box.focus();
    }
  });

  // Enter sends, Shift+Enter starts a new line (and Enter while an input
  // method composes a character is the composition's).
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  if (data.offerIn !== undefined) planWait(Number(data.offerIn));
  connect();
})();
