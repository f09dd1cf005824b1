-- Policy: every container must say who owns it, with an `owner` label (berth run -l owner=alice ...).
-- Containers without one are refused at create; nothing of them is made.
return {
  create = function(c)
    local owner = c.labels.owner
    if owner == nil or owner == "" then
      return berth.refuse("containers need an owner label (run with -l owner=NAME)")
    end
  end,
}
