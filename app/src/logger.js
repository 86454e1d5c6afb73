'use strict';
// One JSON object per line on stdout, filtered by level. Callers pass
// explicit fields only, so configuration/env values never end up in logs.

const RANK = { debug: 10, info: 20, warn: 30, error: 40 };

function createLogger({ level = 'info', stream = process.stdout } = {}) {
  const min = RANK[level] ?? RANK.info;
  const log = (lvl, msg, fields = {}) => {
    if (RANK[lvl] < min) return;
    stream.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }) + '\n');
  };
  return {
    log,
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
  };
}

module.exports = { createLogger };
