// Live run page: engine events over Server-Sent Events update the job
// graph, append log lines (ANSI colours, ::group:: headers) and reload the
// page when the run ends (summaries, artifacts, annotations).
(function () {
  const log = document.getElementById('log');
  if (!log || log.dataset.live !== '1') return;
  const run = log.dataset.run;
  function ansi(text) {
    const frag = document.createDocumentFragment();
    let cls = [];
    const parts = text.split(/\x1b\[([0-9;]*)m/);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) {
        const codes = parts[i].split(';').filter(Boolean);
        if (codes.length === 0 || codes.includes('0')) cls = [];
        codes.filter(c => c !== '0').forEach(c => cls.push('a' + c));
        continue;
      }
      if (!parts[i]) continue;
      const span = document.createElement('span');
      if (cls.length) span.className = cls.join(' ');
      span.textContent = parts[i];
      frag.appendChild(span);
    }
    return frag;
  }
  function line(job, text, extra) {
    const el = document.createElement('span');
    el.className = 'line' + (extra ? ' ' + extra : '');
    const j = document.createElement('span');
    j.className = 'job';
    j.textContent = job;
    el.appendChild(j);
    el.appendChild(document.createTextNode(' '));
    el.appendChild(ansi(text));
    log.appendChild(el);
    log.appendChild(document.createTextNode('\n'));
    log.scrollTop = log.scrollHeight;
  }
  function setJob(id, status) {
    document.querySelectorAll('#graph .node[data-job="' + CSS.escape(id) + '"]').forEach(g => {
      g.setAttribute('class', 'node st-' + status);
      const t = g.querySelector('text.state');
      if (t) t.textContent = status;
    });
  }
  let seenLog = log.querySelectorAll('.line').length > 0;
  const es = new EventSource('/runs/' + run + '/events');
  es.addEventListener('run_started', () => { if (seenLog) { log.textContent = ''; seenLog = false; } });
  es.addEventListener('log', ev => { const e = JSON.parse(ev.data); line(e.job, e.text); });
  es.addEventListener('group', ev => { const e = JSON.parse(ev.data); if (e.text) line(e.job, '▸ ' + e.text, 'group'); });
  es.addEventListener('annotation', ev => { const e = JSON.parse(ev.data); line(e.job, e.level + ': ' + e.text, 'ann'); });
  es.addEventListener('job_started', ev => { const e = JSON.parse(ev.data); setJob(e.job_id, 'running'); });
  es.addEventListener('job_finished', ev => { const e = JSON.parse(ev.data); setJob(e.job_id, e.status); });
  es.addEventListener('job_waiting', ev => { const e = JSON.parse(ev.data); setJob(e.job_id, 'waiting'); });
  es.addEventListener('approval_waiting', ev => {
    const e = JSON.parse(ev.data); setJob(e.job_id, 'waiting');
    if (!document.querySelector('form.decide')) document.getElementById('waiting-note').classList.remove('hidden');
  });
  es.addEventListener('item_finished', ev => {
    const e = JSON.parse(ev.data);
    const st = document.getElementById('run-status');
    st.textContent = e.status; st.className = 'badge st-' + e.status; st.dataset.status = e.status;
    es.close();
    setTimeout(() => location.reload(), 400);
  });
})();
