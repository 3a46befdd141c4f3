// SPDX-License-Identifier: GPL-2.0
// ipsec.js - the IPSec page: the site table with search, filters, sort,
// pages of 100, a column chooser, bulk and per-row actions, the create and
// edit form, CSV import and export, and the POP list. Every byte of data
// comes from ipsecd's REST API (/api/v1) with the bearer token, which is
// kept in sessionStorage (this tab) only.
'use strict';

const API = '/api/v1';
const PER_PAGE = 100;
const COLUMNS = [
	{ key: 'name', title: 'Tunnel name', def: true },
	{ key: 'identity', title: 'Source identity', def: true },
	{ key: 'source_ip', title: 'Source IP', def: true },
	{ key: 'status', title: 'Status', def: true },
	{ key: 'pop', title: 'POP', def: true },
	{ key: 'throughput_kbps', title: 'Throughput (Kbps)', def: true, num: true },
	{ key: 'traffic_type', title: 'Traffic type', def: true },
	{ key: 'license', title: 'License', def: false },
	{ key: 'cipher', title: 'Cipher', def: false },
	{ key: 'flows', title: 'Flows', def: false, num: true },
	{ key: 'endpoints', title: 'Endpoints', def: false, num: true },
];

const $ = (id) => document.getElementById(id);
const state = { page: 1, sort: 'asc', total: 0, sites: [], selected: new Set(), editing: null };

function token() { return sessionStorage.getItem('espgate-token') || ''; }

function shown() {
	const saved = localStorage.getItem('espgate-columns');
	const keys = saved ? saved.split(',') : COLUMNS.filter((c) => c.def).map((c) => c.key);
	return COLUMNS.filter((c) => keys.includes(c.key));
}

// The API: JSON in and out; an error is thrown with the API's message.
async function api(method, path, body, ctype) {
	const opt = { method, headers: { Authorization: 'Bearer ' + token() } };
	if (body !== undefined) {
		opt.body = typeof body === 'string' ? body : JSON.stringify(body);
		opt.headers['Content-Type'] = ctype || 'application/json';
	}
	const r = await fetch(API + path, opt);
	if (r.status === 401) {
		showLogin('The token was refused.');
		throw new Error('unauthorized');
	}
	const text = await r.text();
	const ct = r.headers.get('Content-Type') || '';
	const data = ct.startsWith('application/json') && text ? JSON.parse(text) : text;
	if (!r.ok) {
		const e = new Error(data && data.error ? data.error : r.status + ' ' + r.statusText);
		e.data = data;
		throw e;
	}
	return data;
}

function say(text, bad) {
	const m = $('msg');
	m.textContent = text;
	m.className = bad ? 'err' : '';
}

// ---- login -------------------------------------------------------------------

function showLogin(why) {
	$('app').hidden = true;
	$('login').hidden = false;
	$('login-err').textContent = why || '';
	$('token').focus();
}

async function start() {
	try {
		const st = await api('GET', '/status');
		$('gw').textContent = 'POP ' + (st.pop || '-') + ' \u00b7 ' + st.sites + ' sites \u00b7 XDP ' + st.xdp_mode;
	} catch (e) {
		if (e.message !== 'unauthorized')
			showLogin(e.message);
		return;
	}
	$('login').hidden = true;
	$('app').hidden = false;
	await loadPops();
	await loadSites();
}

// ---- the site table ----------------------------------------------------------

function query() {
	const p = new URLSearchParams({ page: state.page, per_page: PER_PAGE, sort: state.sort });
	const add = (k, id) => { const v = $(id).value.trim(); if (v) p.set(k, v); };
	add('name', 'q-name');
	add('identity', 'q-identity');
	add('status', 'q-status');
	add('pop', 'q-pop');
	add('traffic_type', 'q-traffic');
	return p.toString();
}

async function loadSites() {
	let d;
	try {
		d = await api('GET', '/sites?' + query());
	} catch (e) {
		say(e.message, true);
		return;
	}
	state.sites = d.sites;
	state.total = d.total;
	const pages = Math.max(1, Math.ceil(d.total / PER_PAGE));
	if (state.page > pages) {
		state.page = pages;
		return loadSites();
	}
	render();
}

function cell(s, c) {
	const td = document.createElement('td');
	if (c.num)
		td.className = 'num';
	switch (c.key) {
	case 'name': {
		const a = document.createElement('a');
		a.href = '#';
		a.textContent = s.name;
		a.className = 'site-name';
		a.onclick = (ev) => { ev.preventDefault(); detail(s.name); };
		td.append(a);
		break;
	}
	case 'status': {
		const dot = document.createElement('span');
		dot.className = 'dot ' + s.status;
		td.append(dot, s.status);
		td.dataset.status = s.status;
		if (s.reason) {
			const r = document.createElement('div');
			r.className = 'reason';
			r.textContent = s.reason;
			td.append(r);
		}
		break;
	}
	case 'pop': {
		td.append(s.primary_pop);
		if (s.backup_pops.length) {
			const more = document.createElement('span');
			more.className = 'more';
			more.textContent = 'view additional POPs';
			more.onclick = () => { more.textContent = s.backup_pops.join(', '); more.className = ''; };
			td.append(more);
		}
		break;
	}
	default:
		td.textContent = s[c.key] === undefined || s[c.key] === '' ? '-' : s[c.key];
	}
	return td;
}

function rowMenu(s) {
	const td = document.createElement('td');
	const wrap = document.createElement('div');
	const btn = document.createElement('button');
	const menu = document.createElement('div');
	wrap.className = 'menu-wrap';
	btn.textContent = '\u22ee';
	btn.className = 'row-menu';
	btn.title = 'Actions';
	menu.className = 'menu';
	menu.hidden = true;
	const items = [
		['View detail', () => detail(s.name)],
		['Edit', () => editSite(s.name)],
		['Enable', () => act('POST', '/sites/' + enc(s.name) + '/enable', s.name + ' enabled')],
		['Disable', () => act('POST', '/sites/' + enc(s.name) + '/disable', s.name + ' disabled')],
		['Delete', () => confirm('Delete ' + s.name + '?') &&
			act('DELETE', '/sites/' + enc(s.name), s.name + ' deleted')],
	];
	for (const [label, fn] of items) {
		const b = document.createElement('button');
		b.textContent = label;
		b.dataset.action = label.toLowerCase().replace(' ', '-');
		b.onclick = () => { menu.hidden = true; fn(); };
		menu.append(b);
	}
	btn.onclick = (ev) => { ev.stopPropagation(); closeMenus(); menu.hidden = false; };
	wrap.append(btn, menu);
	td.append(wrap);
	return td;
}

function enc(s) { return encodeURIComponent(s); }

function closeMenus() {
	document.querySelectorAll('.menu').forEach((m) => { m.hidden = true; });
}

function render() {
	const cols = shown();
	const head = $('sites-head');
	head.replaceChildren();
	const all = document.createElement('input');
	all.type = 'checkbox';
	all.id = 'select-all';
	all.checked = state.sites.length > 0 && state.sites.every((s) => state.selected.has(s.name));
	all.onchange = () => {
		for (const s of state.sites)
			all.checked ? state.selected.add(s.name) : state.selected.delete(s.name);
		render();
	};
	const th0 = document.createElement('th');
	th0.append(all);
	head.append(th0);
	for (const c of cols) {
		const th = document.createElement('th');
		th.textContent = c.title;
		th.dataset.col = c.key;
		if (c.num)
			th.className = 'num';
		if (c.key === 'name') {
			th.className = 'sortable';
			th.id = 'sort-name';
			th.textContent += state.sort === 'asc' ? ' \u25b2' : ' \u25bc';
			th.onclick = () => { state.sort = state.sort === 'asc' ? 'desc' : 'asc'; loadSites(); };
		}
		head.append(th);
	}
	head.append(document.createElement('th'));

	const body = $('sites-body');
	body.replaceChildren();
	for (const s of state.sites) {
		const tr = document.createElement('tr');
		tr.dataset.name = s.name;
		const cb = document.createElement('input');
		cb.type = 'checkbox';
		cb.className = 'select';
		cb.checked = state.selected.has(s.name);
		cb.onchange = () => { cb.checked ? state.selected.add(s.name) : state.selected.delete(s.name); bulkBar(); };
		const td0 = document.createElement('td');
		td0.append(cb);
		tr.append(td0);
		for (const c of cols)
			tr.append(cell(s, c));
		tr.append(rowMenu(s));
		body.append(tr);
	}
	const from = state.total ? (state.page - 1) * PER_PAGE + 1 : 0;
	$('range').textContent = 'sites ' + from + '-' + ((state.page - 1) * PER_PAGE + state.sites.length) +
		' of ' + state.total;
	const pages = Math.max(1, Math.ceil(state.total / PER_PAGE));
	$('prev').disabled = state.page <= 1;
	$('next').disabled = state.page >= pages;
	const pg = $('pages');
	pg.replaceChildren();
	for (let i = 1; i <= pages; i++) {
		if (pages > 9 && i > 2 && i < pages - 1 && Math.abs(i - state.page) > 1) {
			if (!pg.lastChild || pg.lastChild.textContent !== '\u2026')
				pg.append('\u2026');
			continue;
		}
		const b = document.createElement('button');
		b.textContent = i;
		b.className = 'page' + (i === state.page ? ' current' : '');
		b.onclick = () => { state.page = i; loadSites(); };
		pg.append(b);
	}
	bulkBar();
}

function bulkBar() {
	const n = state.selected.size;
	$('selected').textContent = n + ' selected';
	for (const id of ['bulk-enable', 'bulk-disable', 'bulk-delete'])
		$(id).disabled = n === 0;
}

async function act(method, path, done, body) {
	try {
		await api(method, path, body);
		say(done);
	} catch (e) {
		say(e.message, true);
	}
	await loadSites();
}

async function bulk(action) {
	const names = [...state.selected];
	if (action === 'delete' && !confirm('Delete ' + names.length + ' tunnels?'))
		return;
	try {
		await api('POST', '/sites/bulk', { action, names });
		say(names.length + ' tunnels ' + (action === 'delete' ? 'deleted' : action + 'd'));
		state.selected.clear();
	} catch (e) {
		say(e.message, true);
	}
	await loadSites();
}

// ---- detail, create, edit ----------------------------------------------------

async function detail(name) {
	let s;
	try {
		s = await api('GET', '/sites/' + enc(name));
	} catch (e) {
		say(e.message, true);
		return;
	}
	$('detail-title').textContent = s.name;
	const dl = $('detail-list');
	dl.replaceChildren();
	const row = (k, v) => {
		const dt = document.createElement('dt');
		const dd = document.createElement('dd');
		dt.textContent = k;
		dd.textContent = v;
		dl.append(dt, dd);
	};
	row('Status', s.status + (s.reason ? ': ' + s.reason : ''));
	row('Source identity', s.id_type + ' ' + s.identity);
	row('Source IP', s.source_ip);
	for (const p of s.pops || [])
		row(p.role === 'primary' ? 'Primary POP' : 'Backup POP', p.name + ' (' + p.gateway_ip + ', ' +
		    (p.location || 'no location') + ')' + (p.this_gateway ? ' \u2190 this gateway' : ''));
	row('Throughput', s.throughput_kbps + ' Kbps');
	row('Traffic type', s.traffic_type);
	row('License', s.license);
	row('Cipher', s.cipher || 'any');
	row('LAN', s.lan_effective);
	row('Flows / endpoints', s.flows + ' / ' + s.endpoints);
	row('IKE SAs', (s.sas || []).length);
	// where the tunnel is, as this gateway sees it (each knows only its own SAs)
	const h = s.here || {};
	row('Tunnel', (h.established ? 'on this gateway' : 'not on this gateway') +
	    (h.pop ? ', ' + h.pop + (h.role !== 'none' ? ' (the site\'s ' + h.role + ' POP)' :
		' (not one of the site\'s POPs)') : ''));
	$('detail-dialog').showModal();
}

function fillPopSelect(sel, pops) {
	sel.replaceChildren();
	for (const p of pops) {
		const o = document.createElement('option');
		o.textContent = p.name;
		sel.append(o);
	}
}

async function editSite(name) {
	const f = $('site-form');
	f.reset();
	$('site-form-err').textContent = '';
	state.editing = name;
	$('site-form-title').textContent = name ? 'Edit ' + name : 'Add tunnel';
	if (name) {
		let s;
		try {
			s = await api('GET', '/sites/' + enc(name));
		} catch (e) {
			say(e.message, true);
			return;
		}
		for (const k of ['name', 'id_type', 'identity', 'source_ip', 'primary_pop', 'traffic_type',
				 'license', 'cipher', 'lan'])
			f.elements[k].value = s[k];
		f.elements.backup_pops.value = s.backup_pops.join(',');
	}
	$('site-dialog').showModal();
}

async function saveSite(ev) {
	ev.preventDefault();
	const f = $('site-form');
	const body = {};
	for (const k of ['name', 'id_type', 'identity', 'source_ip', 'psk', 'primary_pop', 'traffic_type',
			 'license', 'cipher', 'lan']) {
		const v = f.elements[k].value.trim();
		if (v || (state.editing && k !== 'psk'))
			body[k] = v;
	}
	const b = f.elements.backup_pops.value.trim();
	body.backup_pops = b ? b.split(',').map((x) => x.trim()) : [];
	try {
		if (state.editing)
			await api('PATCH', '/sites/' + enc(state.editing), body);
		else
			await api('POST', '/sites', body);
	} catch (e) {
		$('site-form-err').textContent = e.message;	// the API names field and value
		return;
	}
	$('site-dialog').close();
	say((body.name || state.editing) + (state.editing ? ' saved' : ' added'));
	await loadSites();
}

// ---- CSV ----------------------------------------------------------------------

async function importCsv(file) {
	const text = await file.text();
	$('import-errors').hidden = true;
	try {
		const r = await api('POST', '/sites/import', text, 'text/csv');
		say(r.imported + ' tunnels imported');
	} catch (e) {
		const list = $('import-error-list');
		list.replaceChildren();
		for (const line of (e.data && e.data.errors) || [e.message]) {
			const li = document.createElement('li');
			li.textContent = line;
			list.append(li);
		}
		$('import-errors').hidden = false;
		say(e.message, true);
	}
	$('import-file').value = '';
	await loadSites();
}

async function exportCsv(ev) {
	ev.preventDefault();
	try {
		const csv = await api('GET', '/sites/export');
		const a = document.createElement('a');
		a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
		a.download = 'sites.csv';
		a.click();
		URL.revokeObjectURL(a.href);
	} catch (e) {
		say(e.message, true);
	}
}

// ---- columns, POPs -------------------------------------------------------------

function columnsMenu() {
	const m = $('columns-menu');
	m.replaceChildren();
	const on = shown().map((c) => c.key);
	for (const c of COLUMNS) {
		const l = document.createElement('label');
		const cb = document.createElement('input');
		cb.type = 'checkbox';
		cb.checked = on.includes(c.key);
		cb.dataset.col = c.key;
		cb.onchange = () => {
			const keys = [...m.querySelectorAll('input:checked')].map((x) => x.dataset.col);
			localStorage.setItem('espgate-columns', keys.join(','));
			render();
		};
		l.append(cb, ' ' + c.title);
		m.append(l);
	}
	const r = document.createElement('button');
	r.textContent = 'Restore defaults';
	r.id = 'columns-restore';
	r.onclick = () => { localStorage.removeItem('espgate-columns'); columnsMenu(); render(); };
	m.append(r);
}

async function loadPops() {
	let pops;
	try {
		pops = await api('GET', '/pops');
	} catch (e) {
		say(e.message, true);
		return;
	}
	const sel = $('q-pop');
	const cur = sel.value;
	sel.replaceChildren(new Option('Any POP', ''));
	for (const p of pops)
		sel.append(new Option(p.name, p.name));
	sel.value = cur;
	fillPopSelect($('site-form').elements.primary_pop, pops);
	const body = $('pops-body');
	body.replaceChildren();
	for (const p of pops) {
		const tr = document.createElement('tr');
		tr.dataset.name = p.name;
		for (const v of [p.name, p.gateway_ip, p.probe_ip, p.location || '-']) {
			const td = document.createElement('td');
			td.textContent = v;
			tr.append(td);
		}
		const td = document.createElement('td');
		if (p.accepting) {
			td.textContent = 'accepting';
		} else {
			const b = document.createElement('span');
			b.className = 'badge';
			b.textContent = 'not accepting new tunnels';
			td.append(b);
		}
		tr.append(td);
		body.append(tr);
	}
}

function tab(name) {
	document.querySelectorAll('.tab').forEach((t) => t.classList.toggle('active', t.dataset.tab === name));
	$('sites-view').hidden = name !== 'sites';
	$('pops-view').hidden = name !== 'pops';
}

// ---- wiring ------------------------------------------------------------------------

let typing;
function refilter() {
	clearTimeout(typing);
	typing = setTimeout(() => { state.page = 1; loadSites(); }, 250);
}

document.addEventListener('DOMContentLoaded', () => {
	$('login-form').onsubmit = (ev) => {
		ev.preventDefault();
		sessionStorage.setItem('espgate-token', $('token').value.trim());
		start();
	};
	$('logout').onclick = () => { sessionStorage.removeItem('espgate-token'); showLogin(); };
	$('refresh').onclick = () => { loadPops(); loadSites(); };
	for (const id of ['q-name', 'q-identity'])
		$(id).oninput = refilter;
	for (const id of ['q-status', 'q-pop', 'q-traffic'])
		$(id).onchange = () => { state.page = 1; loadSites(); };
	$('prev').onclick = () => { state.page--; loadSites(); };
	$('next').onclick = () => { state.page++; loadSites(); };
	$('bulk-enable').onclick = () => bulk('enable');
	$('bulk-disable').onclick = () => bulk('disable');
	$('bulk-delete').onclick = () => bulk('delete');
	$('add-site').onclick = () => editSite(null);
	$('site-form').onsubmit = saveSite;
	$('site-cancel').onclick = () => $('site-dialog').close();
	$('import').onclick = () => $('import-file').click();
	$('import-file').onchange = () => $('import-file').files[0] && importCsv($('import-file').files[0]);
	$('export').onclick = exportCsv;
	$('columns').onclick = (ev) => {
		ev.stopPropagation();
		const m = $('columns-menu');
		const open = m.hidden;
		closeMenus();
		if (open) {
			columnsMenu();
			m.hidden = false;
		}
	};
	$('columns-menu').onclick = (ev) => ev.stopPropagation();
	document.addEventListener('click', closeMenus);
	document.querySelectorAll('.tab').forEach((t) => { t.onclick = () => tab(t.dataset.tab); });
	if (token())
		start();
	else
		showLogin();
});
