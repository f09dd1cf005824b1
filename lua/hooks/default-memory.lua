-- Gives containers that ask for no memory limit a default one, and labels them so that it shows in inspect.
-- The default can be changed here without rebuilding or restarting Berth (reload with SIGHUP).
local DEFAULT = "256m"

return {
  create = function(c)
    if c.limits.memory == nil then
      return {
        memory = DEFAULT,
        labels = { ["berth.default-memory"] = DEFAULT },
      }
    end
  end,
}
