# The variable context (SPEC section 4) and key_mapper rendering (section 5),
# seen through the ingestion location's dry run.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

no_long_string();
run_tests();

__DATA__

=== TEST 1: the whole context of a call
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- more_headers
Host: rec.example:8443
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-7f3a", "status": "picked", "direction": "outbound", "transport": "sip",
  "phone_number": "+919876543210", "agent_name": "agent_1",
  "start_time": "2026-07-01T10:00:00Z", "answer_time": "2026-07-01T10:00:04Z", "end_time": 1782900125.5,
  "disconnected_by": "bot",
  "connected_event": {"CUSTOMERID": "C-1001", "campaign": "renewals"},
  "sip_headers": {"X-Customer-Id": "C-1001", "X-Campaign": "renewals", "Via": "SIP/2.0/UDP 10.0.0.1"},
  "crm_data": {"CUSTOMERNAME": "Asha Rao", "policy": {"id": "P-9"}},
  "analysis": {"DISPOSITION": "Interested"},
  "qc": {"overall_score": 8.5},
  "transcript": [{"role": "bot", "text": "Hello"}, {"role": "customer", "text": "Hi \"there\""}],
  "summary": "Callback.", "data_capture": {"customer_name": "Asha"},
  "structured_output": {"intent": "callback"}, "trigger_data": {"crm_id": "lead_42"},
  "transfer": {"destination": "+918000", "target": "sales", "reason": "human", "method": "sip_refer", "at": 95.5, "failed_reason": ""},
  "recording_key": "calls/c.wav", "recording_access_token": "tok_1", "unknown_field": [1, 2]},
 "bot": {"bot_id": "b-12", "timezone": "America/New_York", "analysis_keys": ["CALLBACK_TIME"]}}
--- error_code: 200
--- response_body_like eval
qr/^\Q{"call_id":"c-7f3a","variables":{"call":{"CUSTOMERID":"C-1001","campaign":"renewals","X-Customer-Id":"C-1001","X-Campaign":"renewals","sip_headers_json":"{\"X-Customer-Id\":\"C-1001\",\"X-Campaign\":\"renewals\",\"Via\":\"SIP\/2.0\/UDP 10.0.0.1\"}"},"crm":{"CUSTOMERNAME":"Asha Rao","policy":{"id":"P-9"}},"result":{"call_id":"c-7f3a","recording_url":"http:\/\/rec.example:8443\/api\/v1\/public\/recordings\/tok_1","call_duration_seconds":121,"disconnected_by":"bot","disposition":"Connected","call_start_time":"2026-07-01T06:00:00-04:00","call_end_time":"2026-07-01T06:02:05-04:00","call_answer_time":"2026-07-01T06:00:04-04:00","transcript":"[{\"role\":\"bot\",\"text\":\"Hello\"},{\"role\":\"customer\",\"text\":\"Hi \\\"there\\\"\"}]","was_transferred":"yes","transfer_destination":"+918000","transfer_target":"sales","transfer_reason":"human","transfer_method":"sip_refer","transfer_at":95.5,"transfer_failed_reason":""},"analysis":{"DISPOSITION":"Interested","SUB_DISPOSITION":"","CALLBACK_TIME":""},"qc":{"overall_score":8.5,"empathy_score":"","compliance_score":"","remarks":""},"system":{"call_id":"c-7f3a","bot_id":"b-12","timezone":"America\/New_York","now":"\E\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[45]:00\Q","public_base_url":"http:\/\/rec.example:8443"},"call_info":{"call_log_id":"c-7f3a","phone_number":"+919876543210","agent_name":"agent_1","call_status":"picked","call_type":"outbound"},"call_summary":"Callback.","data_capture":{"customer_name":"Asha"},"structured_output":{"intent":"callback"},"call_trigger_data":{"crm_id":"lead_42"}},"pushes":[]}\E\n$/



=== TEST 2: key_mapper: resolution order, coercion, literals
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "connected_event": {"campaign": "renewals", "CUSTOMERID": "C-1"},
  "crm_data": {"CUSTOMERNAME": "Asha", "policy": {"id": "P-9"}, "CUSTOMERID": "from-crm"},
  "analysis": {"DISPOSITION": "Interested"}, "qc": {"overall_score": 8.5},
  "transfer": {"at": 95.5}},
 "bot": {"bot_id": "b-1", "post_call_push": {"url": "http://crm.test/calls", "key_mapper": {
  "a": "{{CUSTOMERNAME}}", "b": "{{crm.campaign}}", "c": "{{call_id}}", "d": "{{ analysis.DISPOSITION }}",
  "e": "{{nope.x}}", "f": "{{crm.policy}}", "g": "id={{crm.policy.id}}", "h": 42, "i": "{{qc.overall_score}}",
  "j": "[{{crm.policy.id}}]", "k": "{{result.transfer_at}}", "l": "x {{unterminated", "m": "{{a b}}",
  "n": " [1, {{qc.overall_score}}] ", "o": "{{CUSTOMERID}}", "p": {"nested": "{{CUSTOMERNAME}}"}, "q": null}}}}
--- error_code: 200
--- response_body_like eval
qr/\Q"body":"{\"a\":\"Asha\",\"b\":\"renewals\",\"c\":\"c-1\",\"d\":\"Interested\",\"e\":\"\",\"f\":{\"id\":\"P-9\"},\"g\":\"id=P-9\",\"h\":42,\"i\":\"8.5\",\"j\":\"[P-9]\",\"k\":\"95.5\",\"l\":\"x {{unterminated\",\"m\":\"{{a b}}\",\"n\":[1,8.5],\"o\":\"from-crm\",\"p\":{\"nested\":\"{{CUSTOMERNAME}}\"},\"q\":null}"\E/



=== TEST 3: result.disposition from disconnected_by
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest?dry_run=1\n"
       . qq({"call": {"call_id": "c-1", "disconnected_by": $_},)
       . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"d": "{{result.disposition}}"}}}})
     } '"customer"', '"bot"', '"timeout"', '"error"', '"transfer"', 'null']
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body_like eval
[qr/\Q"body":"{\"d\":\"Connected\"}"\E/, qr/\Q"body":"{\"d\":\"Connected\"}"\E/,
 qr/\Q"body":"{\"d\":\"Connected\"}"\E/, qr/\Q"body":"{\"d\":\"Failed\"}"\E/,
 qr/\Q"body":"{\"d\":\"Unknown\"}"\E/, qr/\Q"body":"{\"d\":\"Unknown\"}"\E/]



=== TEST 4: websocket calls answer when they start; duration without an answer time
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
["POST /ingest?dry_run=1\n"
 . q({"call": {"call_id": "c-1", "transport": "websocket", "start_time": "2026-11-23T10:00:00Z", "answer_time": "2026-11-23T10:00:09Z", "end_time": "2026-11-23T10:01:00Z"},)
 . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"a": "{{result.call_answer_time}}", "d": "{{result.call_duration_seconds}}"}}}}),
 "POST /ingest?dry_run=1\n"
 . q({"call": {"call_id": "c-1", "transport": "sip", "start_time": "2026-11-23T10:00:00Z", "end_time": "2026-11-23T10:01:00.900Z"},)
 . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"a": "{{result.call_answer_time}}", "d": "{{result.call_duration_seconds}}"}}}}),
 "POST /ingest?dry_run=1\n"
 . q({"call": {"call_id": "c-1", "start_time": "2026-11-23T10:00:00Z"},)
 . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"a": "{{result.call_end_time}}", "d": "{{result.call_duration_seconds}}"}}}})]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/\Q"body":"{\"a\":\"2026-11-23T10:00:00+00:00\",\"d\":\"60\"}"\E/,
 qr/\Q"body":"{\"a\":\"\",\"d\":\"60\"}"\E/,
 qr/\Q"body":"{\"a\":\"\",\"d\":\"\"}"\E/]



=== TEST 5: transfers: none, failed
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest?dry_run=1\n"
       . qq({"call": {"call_id": "c-1", $_},)
       . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"w": "{{result.was_transferred}}", "t": "{{result.transfer_target}}", "f": "{{result.transfer_failed_reason}}", "at": "{{result.transfer_at}}"}}}})
     } '"transfer": null', '"transfer": {"target": "sales", "at": 12, "failed_reason": "busy"}']
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\Q"body":"{\"w\":\"no\",\"t\":\"\",\"f\":\"\",\"at\":\"\"}"\E/,
 qr/\Q"body":"{\"w\":\"no\",\"t\":\"sales\",\"f\":\"busy\",\"at\":\"12\"}"\E/]



=== TEST 6: auto disposition when the call has no analysis
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
my $bot = q("bot": {"auto_disposition": {
    "RNR": {"DISPOSITION": "RNR", "SUB_DISPOSITION": "Ring no response"},
    "VOICEMAIL": {"DISPOSITION": "VM"}, "IVR": {"DISPOSITION": "IVR"},
    "TIMEOUT": {"DISPOSITION": "TO"}, "SYSTEM_ERROR": {"DISPOSITION": "ERR"},
    "NO_CUSTOMER_MESSAGE": {"DISPOSITION": "SILENT"}},
  "post_call_push": {"url": "http://crm.test/", "key_mapper": {"d": "{{analysis.DISPOSITION}}", "s": "{{analysis.SUB_DISPOSITION}}"}}});
[map { "POST /ingest?dry_run=1\n" . qq({"call": {"call_id": "c-1", $_}, $bot}) }
  '"status": "busy", "voicemail_detected": true',
  '"status": "picked", "voicemail_detected": true, "ivr_detected": true',
  '"ivr_detected": true, "disconnected_by": "timeout"',
  '"disconnected_by": "timeout"',
  '"disconnected_by": "error", "analysis": null',
  '"transcript": [{"role": "bot", "text": "hello?"}]',
  '"transcript": [{"role": "user", "text": "hi"}]',
  '"analysis": {"DISPOSITION": "Interested"}, "status": "busy"']
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200]
--- response_body_like eval
[qr/\Q"body":"{\"d\":\"RNR\",\"s\":\"Ring no response\"}"\E/,
 qr/\Q"body":"{\"d\":\"VM\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"IVR\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"TO\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"ERR\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"SILENT\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"\",\"s\":\"\"}"\E/,
 qr/\Q"body":"{\"d\":\"Interested\",\"s\":\"\"}"\E/]



=== TEST 7: only the SIP headers the bot names, matched without case
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "sip_headers": {"x-customer-id": "C-1", "X-Secret": "s", "Via": "SIP/2.0"}},
 "bot": {"sip_header_variables": ["X-Customer-Id", "Via"]}}
--- error_code: 200
--- response_body_like eval
qr/\Q{"call_id":"c-1","variables":{"call":{"X-Customer-Id":"C-1","Via":"SIP\/2.0","sip_headers_json":"{\"x-customer-id\":\"C-1\",\"X-Secret\":\"s\",\"Via\":\"SIP\/2.0\"}"},"crm":{},\E/



=== TEST 8: the recording URL: token link, given URL, nothing
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_public_base_url https://calls.example.com/$arg_tenant/;
    }
--- request eval
[map { "POST /ingest?dry_run=1&tenant=acme\n"
       . qq({"call": {"call_id": "c-1", $_},)
       . q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"r": "{{result.recording_url}}"}}}})
     } '"recording_key": "k/c.wav", "recording_access_token": "t k+1", "recording_url": "s3://b/k/c.wav"',
       '"recording_key": "k/c.wav", "recording_url": "https://cdn.example/c.wav"',
       '"recording_access_token": "tok"',
       '"recording_key": ""']
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[qr{\Q"body":"{\"r\":\"https://calls.example.com/acme/api/v1/public/recordings/t%20k%2B1\"}"\E},
 qr{\Q"body":"{\"r\":\"https://cdn.example/c.wav\"}"\E},
 qr{\Q"body":"{\"r\":\"\"}"\E},
 qr{\Q"body":"{\"r\":\"\"}"\E}]



=== TEST 9: time zones: DST, half-hour offsets, unknown zones fall back to UTC
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest?dry_run=1\n"
       . q({"call": {"call_id": "c-1", "start_time": "2026-03-29T00:30:00Z", "end_time": "2026-03-29T01:30:00Z"},)
       . qq( "bot": {"timezone": $_, "post_call_push": {"url": "http://crm.test/", "key_mapper": {"s": "{{result.call_start_time}}", "e": "{{result.call_end_time}}", "z": "{{system.timezone}}"}}}})
     } '"Europe/London"', '"Asia/Kolkata"', '"Mars/Olympus"', '"../../etc/passwd"', 'null']
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
[qr{\Q"body":"{\"s\":\"2026-03-29T00:30:00+00:00\",\"e\":\"2026-03-29T02:30:00+01:00\",\"z\":\"Europe/London\"}"\E},
 qr{\Q"body":"{\"s\":\"2026-03-29T06:00:00+05:30\",\"e\":\"2026-03-29T07:00:00+05:30\",\"z\":\"Asia/Kolkata\"}"\E},
 qr{\Q"body":"{\"s\":\"2026-03-29T00:30:00+00:00\",\"e\":\"2026-03-29T01:30:00+00:00\",\"z\":\"UTC\"}"\E},
 qr{\Q"body":"{\"s\":\"2026-03-29T00:30:00+00:00\",\"e\":\"2026-03-29T01:30:00+00:00\",\"z\":\"UTC\"}"\E},
 qr{\Q"body":"{\"s\":\"2026-03-29T00:30:00+00:00\",\"e\":\"2026-03-29T01:30:00+00:00\",\"z\":\"UTC\"}"\E}]



=== TEST 10: whole namespaces, lazy values included
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "status": "picked", "transcript": [{"role": "bot", "text": "hi"}], "sip_headers": {"X-A": "1"}},
 "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"c": "{{call}}"}},
   "integrations": [{"url": "http://crm.test/", "body": {"mode": "template", "template": {"t": "{{result.transcript}}", "r": "{{result}}"}}}]}}
--- error_code: 200
--- response_body_like eval
qr/\Q"body":"{\"c\":{\"X-A\":\"1\",\"sip_headers_json\":\"{\\\"X-A\\\":\\\"1\\\"}\"}}"\E.*\Q"body":"{\"t\":\"[{\\\"role\\\":\\\"bot\\\",\\\"text\\\":\\\"hi\\\"}]\",\"r\":{\"call_id\":\"c-1\",\E/
