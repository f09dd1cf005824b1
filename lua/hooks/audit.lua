-- Audit: logs every lifecycle event with its fields into the daemon's log, and counts events per kind in
-- the script's key-value store (kept across SIGHUP reloads, not across restarts).

local function fields(c)
  local f = { id = c.id, name = c.name, image = c.image }
  if c.command then f.command = table.concat(c.command, " ") end
  if c.pid then f.pid = c.pid end
  if c.exit_code then f.exit_code = c.exit_code end
  if c.limits and c.limits.memory then f.memory = c.limits.memory end
  if c.tags then f.tags = table.concat(c.tags, ",") end
  return f
end

local function audit(c)
  local key = "count." .. c.event
  berth.kv.set(key, (berth.kv.get(key) or 0) + 1)
  local f = fields(c)
  f.count = berth.kv.get(key)
  berth.log.info("audit: container " .. c.event, f)
end

return {
  create = audit,
  prestart = audit,
  poststart = audit,
  stop = audit,
  poststop = audit,
  remove = audit,
  delete = function(image)
    berth.log.info("audit: image delete", fields(image))
  end,
}
