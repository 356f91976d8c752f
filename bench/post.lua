-- wrk script of the ingestion benchmark: POST the result document named by
-- $CXB_DOC and count every answer that is not a 202.  Prints one line,
--   CXB_STATUS ok=N bad=N first_bad=STATUS
-- which bench/run.sh checks (any bad answer fails the run).

local path = os.getenv("CXB_DOC")
if not path then
   error("CXB_DOC is not set")
end

local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   bad = 0
   first_bad = 0
end

function response(status, headers, body)
   if status == 202 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == 0 then
         first_bad = status
      end
   end
end

function done(summary, latency, requests)
   local nok, nbad, first = 0, 0, 0
   for _, t in ipairs(threads) do
      nok = nok + t:get("ok")
      nbad = nbad + t:get("bad")
      if first == 0 then
         first = t:get("first_bad")
      end
   end
   io.write(string.format("CXB_STATUS ok=%d bad=%d first_bad=%d\n",
                          nok, nbad, first))
end
