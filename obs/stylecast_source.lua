--[[
stylecast output: an OBS source that shows what a running stylecast publishes in shared
memory (stylecast run --obs), with about one frame of added latency.

Load it in OBS with Tools -> Scripts -> "+". It registers:
  * the source type "stylecast output" (id "stylecast"); its one setting is the shared
    memory name (default "stylecast", i.e. /dev/shm/stylecast-stylecast);
  * the hotkeys "stylecast: next style" and "stylecast: previous style" (Settings ->
    Hotkeys), which write a command into the segment's command slot for stylecast to read.

Thin on purpose: no Python, no torch, nothing but LuaJIT's FFI. The segment layout is
documented in stylecast/outputs/shm.py; both sides must change together. Linux only
(/dev/shm, Linux open/mmap flags).
]]

local obs = obslua
local ffi = require("ffi")
local bit = require("bit")

local SOURCE_ID = "stylecast"
local DEFAULT_NAME = "stylecast"
local HEADER_BYTES = 4096
local VERSION = 1
local FORMAT_RGBA8 = 1
local GS_RGBA = 3        -- enum gs_color_format: RGBA8, the byte order stylecast writes
local GS_DYNAMIC = 2     -- texture updated every frame
local STATE_LIVE, STATE_MOVED = 1, 2
local RETRY_S = 0.25     -- how often a source without signal looks for the segment again
local PID_CHECK_S = 1.0  -- how often a live source checks that the writer still runs
local O_RDWR, O_CLOEXEC = 2, 0x80000
local PROT_RW, MAP_SHARED = 3, 1
local CMD_SLOTS = 8

-- pcall: cdef of an existing declaration raises when the script is reloaded.
pcall(ffi.cdef, [[
typedef struct gs_texture gs_texture_t;
gs_texture_t *gs_texture_create(uint32_t width, uint32_t height, int color_format,
                                uint32_t levels, const uint8_t **data, uint32_t flags);
void gs_texture_set_image(gs_texture_t *tex, const uint8_t *data, uint32_t linesize,
                          bool invert);
void gs_texture_destroy(gs_texture_t *tex);
void obs_source_draw(gs_texture_t *image, int x, int y, uint32_t cx, uint32_t cy, bool flip);
int open(const char *path, int flags, ...);
int close(int fd);
void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
int munmap(void *addr, size_t length);
int kill(int pid, int sig);

typedef struct {
  uint64_t seq;        /* odd while stylecast writes this buffer */
  uint64_t index;
  double t_capture;
  double t_publish;
} stylecast_buffer_t;

typedef struct {
  uint16_t len;
  char text[30];
} stylecast_command_t;

typedef struct {
  char magic[4];
  uint32_t version, header_bytes, state, width, height, stride, format, buffer_count, pid;
  uint64_t buffer_bytes;
  uint64_t published;
  uint32_t front, reserved;
  stylecast_buffer_t buf[2];
  uint8_t pad1[64];
  uint32_t cmd_seq, cmd_ack;
  uint8_t pad2[56];
  stylecast_command_t cmd[8];
} stylecast_header_t;
]])

local C = ffi.C
local MAP_FAILED = ffi.cast("void *", -1)
assert(ffi.offsetof("stylecast_header_t", "buf") == 64, "header layout")
assert(ffi.offsetof("stylecast_header_t", "cmd_seq") == 192, "header layout")
assert(ffi.offsetof("stylecast_header_t", "cmd") == 256, "header layout")

local script_shm_name = DEFAULT_NAME
local hotkeys = {}

local function segment_path(name)
  return "/dev/shm/stylecast-" .. name
end

local function log(level, text)
  obs.script_log(level, "[stylecast] " .. text)
end

-- Map the header only (commands) or the whole segment; nil when absent or not ours.
local function map_segment(path, whole)
  local fd = C.open(path, bit.bor(O_RDWR, O_CLOEXEC))
  if fd < 0 then
    return nil
  end
  local base = C.mmap(nil, HEADER_BYTES, PROT_RW, MAP_SHARED, fd, 0)
  if base == MAP_FAILED then
    C.close(fd)
    return nil
  end
  local hdr = ffi.cast("stylecast_header_t *", base)
  local ok = ffi.string(hdr.magic, 4) == "SCST" and hdr.version == VERSION
    and hdr.header_bytes == HEADER_BYTES and hdr.state == STATE_LIVE
    and hdr.format == FORMAT_RGBA8 and hdr.buffer_count == 2
    and hdr.width > 0 and hdr.height > 0 and hdr.stride >= hdr.width * 4
  local size = HEADER_BYTES
  if ok and whole then
    size = HEADER_BYTES + 2 * tonumber(hdr.buffer_bytes)
    C.munmap(base, HEADER_BYTES)
    base = C.mmap(nil, size, PROT_RW, MAP_SHARED, fd, 0)
    ok = base ~= MAP_FAILED
  end
  C.close(fd)  -- the mapping keeps the file alive
  if not ok then
    if base ~= MAP_FAILED then
      C.munmap(base, size)
    end
    return nil
  end
  hdr = ffi.cast("stylecast_header_t *", base)
  return {base = ffi.cast("uint8_t *", base), hdr = hdr, size = size,
          width = hdr.width, height = hdr.height, stride = hdr.stride,
          buffer_bytes = tonumber(hdr.buffer_bytes), pid = hdr.pid}
end

local function unmap(seg)
  C.munmap(seg.base, seg.size)
end

-- A writer that crashed never marks its segment closed; kill(pid, 0) tells.
local function writer_alive(pid)
  if C.kill(pid, 0) == 0 then
    return true
  end
  return ffi.errno() ~= 3  -- ESRCH; EPERM means it exists under another user
end

-- Hotkeys -----------------------------------------------------------------------------
local function send_command(text)
  local seg = map_segment(segment_path(script_shm_name), false)
  if seg == nil then
    log(obs.LOG_WARNING, "hotkey '" .. text .. "' ignored: stylecast is not running")
    return
  end
  local hdr = seg.hdr
  local seq = hdr.cmd_seq + 1
  local slot = hdr.cmd[(seq - 1) % CMD_SLOTS]
  local n = math.min(#text, 30)
  slot.len = n
  ffi.copy(slot.text, text, n)
  hdr.cmd_seq = seq  -- last: stylecast reads the slot once it sees the new seq
  unmap(seg)
end

local HOTKEYS = {
  {key = "stylecast_next_style", label = "stylecast: next style", command = "next_style"},
  {key = "stylecast_previous_style", label = "stylecast: previous style",
   command = "previous_style"},
}

-- The source ---------------------------------------------------------------------------
local source_def = {
  id = SOURCE_ID,
  type = obs.OBS_SOURCE_TYPE_INPUT,
  output_flags = obs.OBS_SOURCE_VIDEO,
}

source_def.get_name = function()
  return "stylecast output"
end

local function disconnect(data, why)
  if data.seg ~= nil then
    unmap(data.seg)
    data.seg = nil
    log(obs.LOG_INFO, data.name .. ": " .. why)
  end
  data.live = false
  data.shown = -1
end

local function connect(data)
  local seg = map_segment(segment_path(data.name), true)
  if seg == nil then
    return
  end
  data.seg, data.live, data.shown, data.timer = seg, true, -1, 0
  data.width, data.height = seg.width, seg.height
  if data.scratch_bytes ~= seg.buffer_bytes then
    data.scratch = ffi.new("uint8_t[?]", seg.buffer_bytes)
    data.scratch_bytes = seg.buffer_bytes
  end
  log(obs.LOG_INFO, data.name .. ": receiving " .. seg.width .. "x" .. seg.height)
end

source_def.create = function(settings, source)
  local data = {name = obs.obs_data_get_string(settings, "shm_name"), seg = nil,
                live = false, shown = -1, timer = RETRY_S, width = 0, height = 0,
                tex = nil, tex_w = 0, tex_h = 0, scratch = nil, scratch_bytes = 0}
  if data.name == "" then
    data.name = DEFAULT_NAME
  end
  return data
end

source_def.destroy = function(data)
  disconnect(data, "source removed")
  if data.tex ~= nil then
    obs.obs_enter_graphics()
    C.gs_texture_destroy(data.tex)
    obs.obs_leave_graphics()
    data.tex = nil
  end
end

source_def.get_defaults = function(settings)
  obs.obs_data_set_default_string(settings, "shm_name", DEFAULT_NAME)
end

source_def.get_properties = function(data)
  local props = obs.obs_properties_create()
  obs.obs_properties_add_text(props, "shm_name", "Shared memory name", obs.OBS_TEXT_DEFAULT)
  return props
end

source_def.update = function(data, settings)
  local name = obs.obs_data_get_string(settings, "shm_name")
  if name == "" then
    name = DEFAULT_NAME
  end
  if name ~= data.name then
    disconnect(data, "renamed")
    data.name, data.timer = name, RETRY_S
  end
end

source_def.get_width = function(data)
  return data.width
end

source_def.get_height = function(data)
  return data.height
end

-- Connection upkeep, on the graphics thread like video_render, so the two never overlap.
source_def.video_tick = function(data, seconds)
  data.timer = data.timer + seconds
  local seg = data.seg
  if seg ~= nil then
    local state = seg.hdr.state
    if state == STATE_MOVED then
      disconnect(data, "size changed")
      data.timer = RETRY_S
    elseif state ~= STATE_LIVE then
      disconnect(data, "stylecast stopped; no signal")
    elseif data.timer >= PID_CHECK_S then
      data.timer = 0
      if not writer_alive(seg.pid) then
        disconnect(data, "stylecast is gone; no signal")
      end
    end
  end
  if data.seg == nil and data.timer >= RETRY_S then
    data.timer = 0
    connect(data)
  end
end

-- Copy the newest complete frame out of shared memory (seqlock: keep the copy only if the
-- buffer was not being written before or after it), then upload it.
local function upload_newest(data)
  local seg = data.seg
  local hdr = seg.hdr
  local published = tonumber(hdr.published)
  if published == data.shown then
    return
  end
  local front = hdr.front
  local meta = hdr.buf[front]
  local before = tonumber(meta.seq)
  if before % 2 == 1 then
    return
  end
  ffi.copy(data.scratch, seg.base + HEADER_BYTES + front * seg.buffer_bytes, seg.buffer_bytes)
  if tonumber(meta.seq) ~= before then
    return  -- torn: the next render takes the next frame
  end
  if data.tex == nil or data.tex_w ~= seg.width or data.tex_h ~= seg.height then
    if data.tex ~= nil then
      C.gs_texture_destroy(data.tex)
    end
    data.tex = C.gs_texture_create(seg.width, seg.height, GS_RGBA, 1, nil, GS_DYNAMIC)
    data.tex_w, data.tex_h = seg.width, seg.height
  end
  C.gs_texture_set_image(data.tex, data.scratch, seg.stride, false)
  data.shown = published
end

source_def.video_render = function(data, effect)
  if data.seg == nil or not data.live then
    return  -- no signal: transparent
  end
  upload_newest(data)
  if data.tex ~= nil and data.shown ~= -1 then
    C.obs_source_draw(data.tex, 0, 0, 0, 0, false)
  end
end

obs.obs_register_source(source_def)

-- Script entry points ------------------------------------------------------------------
function script_description()
  return "<b>stylecast output</b>: shows a running stylecast (<code>stylecast run --obs</code>) "
    .. "through shared memory, and adds the hotkeys 'stylecast: next style' and "
    .. "'stylecast: previous style'."
end

function script_properties()
  local props = obs.obs_properties_create()
  obs.obs_properties_add_text(props, "shm_name", "Shared memory name (hotkeys)",
                              obs.OBS_TEXT_DEFAULT)
  return props
end

function script_defaults(settings)
  obs.obs_data_set_default_string(settings, "shm_name", DEFAULT_NAME)
end

function script_update(settings)
  local name = obs.obs_data_get_string(settings, "shm_name")
  script_shm_name = name ~= "" and name or DEFAULT_NAME
end

function script_load(settings)
  script_update(settings)
  for _, hk in ipairs(HOTKEYS) do
    local id = obs.obs_hotkey_register_frontend(hk.key, hk.label, function(pressed)
      if pressed then
        send_command(hk.command)
      end
    end)
    local saved = obs.obs_data_get_array(settings, hk.key)
    obs.obs_hotkey_load(id, saved)
    obs.obs_data_array_release(saved)
    hotkeys[hk.key] = id
  end
end

function script_save(settings)
  for key, id in pairs(hotkeys) do
    local saved = obs.obs_hotkey_save(id)
    obs.obs_data_set_array(settings, key, saved)
    obs.obs_data_array_release(saved)
  end
end
