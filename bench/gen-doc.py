#!/usr/bin/env python3
"""Write the benchmark's result document (SPEC section 3) to stdout.

    gen-doc.py SINKPORT [TURNS]

A realistic, deterministic call: connected_event, SIP headers, crm_data,
analysis, qc, summary, data_capture, structured_output, trigger_data, a
recording key with its access token, a transfer, collected variables and a
TURNS-turn transcript (default 200, about 27 KB of JSON in all).  The bot's
post_call_push targets http://127.0.0.1:SINKPORT/crm with a 30-field
key_mapper that uses every namespace of the variable context -- but never
result.transcript, which the module renders lazily (only when a template
asks for it), so a CRM mapping without it does not pay for it.
"""

import json
import random
import sys

BOT_LINES = [
    "Hello, this is Priya from Suraksha Insurance. Am I speaking with Mr. Rao?",
    "Thank you. Your motor policy is due for renewal on the twenty-eighth of this month.",
    "You had no claims this year, so you qualify for a no-claim bonus of twenty percent.",
    "The renewed premium is eleven thousand four hundred rupees including GST.",
    "Would you like the zero depreciation add-on? It costs nine hundred rupees a year.",
    "Of course, I understand. May I know a convenient time for our relationship manager to call you back?",
    "Noted. You will also receive the renewal quote by email within an hour.",
    "Could you please confirm the email address we have on file ends with gmail dot com?",
    "Is there anything else I can help you with regarding your policy?",
    "The registration number is KA zero three M N four five six seven, correct?",
    "The payment can be made by UPI, net banking or card, and the policy document is issued instantly.",
    "I understand your concern about the price; let me check for a loyalty discount.",
]

CUSTOMER_LINES = [
    "Yes, speaking. What is this regarding?",
    "Okay, I remember getting a message about that last week but I did not have time to look at it.",
    "That sounds fine, but last year I paid a little less than that if I remember correctly.",
    "No, I do not think I need the add-on, the car is already four years old.",
    "Can you call me back tomorrow evening after six? I am driving right now.",
    "Yes, that is the correct email, please send the details there and I will go through them.",
    "Actually, can you tell me whether the roadside assistance covers a flat tyre on the highway?",
    "Hmm, let me think about it and discuss with my wife before I decide anything.",
    "Yes, the registration number is right. The policy is in my name only.",
    "I would prefer paying by UPI, is there any cashback offer running this month?",
    "Sorry, the line is not very clear, could you repeat the last part please?",
    "Alright, thank you for the information, please do not call me before six though.",
]


def transcript(turns, rnd):
    out, t = [], 0.4
    for i in range(turns):
        role = "bot" if i % 2 == 0 else "customer"
        lines = BOT_LINES if role == "bot" else CUSTOMER_LINES
        text = lines[rnd.randrange(len(lines))]
        out.append({"role": role, "text": text, "t": round(t, 1)})
        t += 1.5 + len(text) / 18.0 + rnd.random()
    return out


KEY_MAPPER = {
    # call.* (connected_event, SIP headers), via the crm./call. fallback too
    "customer_id": "{{CUSTOMERID}}",
    "campaign": "{{call.campaign}}",
    "lead_source": "{{call.lead_source}}",
    "sip_customer": "{{call.X-Customer-Id}}",
    "sip_headers": "{{call.sip_headers_json}}",
    # crm.*
    "customer_name": "{{crm.CUSTOMERNAME}}",
    "policy_id": "{{crm.policy.id}}",
    "policy_premium": "{{crm.policy.premium}}",
    "vehicle": "{{crm.vehicle.make}} {{crm.vehicle.model}} ({{crm.vehicle.registration}})",
    "city": "{{CITY}}",
    # analysis.*
    "disposition": "{{analysis.DISPOSITION}}",
    "sub_disposition": "{{analysis.SUB_DISPOSITION}}",
    "callback_time": "{{analysis.CALLBACK_TIME}}",
    "interest_level": "{{analysis.INTEREST_LEVEL}}",
    # result.* (everything but result.transcript)
    "duration": "{{result.call_duration_seconds}}",
    "recording_url": "{{result.recording_url}}",
    "call_status": "{{result.disposition}}",
    "disconnected_by": "{{result.disconnected_by}}",
    "started_at": "{{result.call_start_time}}",
    "ended_at": "{{result.call_end_time}}",
    "was_transferred": "{{result.was_transferred}}",
    "transfer_to": "{{ result.transfer_target }}",
    # qc.*
    "qc_score": "{{qc.overall_score}}",
    "qc": "{\"empathy\": \"{{qc.empathy_score}}\", \"compliance\": \"{{qc.compliance_score}}\", \"remarks\": \"{{qc.remarks}}\"}",
    # system.*
    "pushed_at": "{{system.now}}",
    "source": "voicebot:{{system.bot_id}}:{{system.call_id}}",
    # call_info.*, call_summary, data_capture.*, structured_output.*,
    # call_trigger_data.*
    "phone": "{{call_info.phone_number}}",
    "summary": "{{call_summary}}",
    "email": "{{data_capture.email}}",
    "next_action": "{{structured_output.intent}} on {{structured_output.appointment.date}} ({{call_trigger_data.crm_id}})",
}


def document(sinkport, turns):
    rnd = random.Random(42)
    assert len(KEY_MAPPER) == 30
    return {
        "call": {
            "call_id": "c-7f3a-2026-11-23-0001", "status": "picked",
            "direction": "outbound", "transport": "sip",
            "phone_number": "+919876543210", "agent_name": "renewals_agent_3",
            "start_time": "2026-11-23T10:00:00Z",
            "answer_time": "2026-11-23T10:00:04Z",
            "end_time": "2026-11-23T10:09:47Z",
            "disconnected_by": "customer",
            "connected_event": {"CUSTOMERID": "C-1001", "campaign": "renewals-nov",
                                "lead_source": "website", "attempt": 2},
            "sip_headers": {"X-Customer-Id": "C-1001", "X-Campaign": "renewals-nov",
                            "X-Lead-Priority": "high",
                            "Via": "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds",
                            "User-Agent": "FreeSWITCH-mod_sofia/1.10.9"},
            "crm_data": {"CUSTOMERNAME": "Asha Rao", "CITY": "Bengaluru",
                         "policy": {"id": "P-9-2231-MOT", "premium": 11400,
                                    "expiry": "2026-11-28", "ncb": 20},
                         "vehicle": {"make": "Maruti", "model": "Baleno",
                                     "registration": "KA03MN4567", "year": 2022},
                         "language": "en-IN", "segment": "retail"},
            "analysis": {"DISPOSITION": "Interested", "SUB_DISPOSITION": "Callback",
                         "CALLBACK_TIME": "2026-11-24T18:30:00+05:30",
                         "INTEREST_LEVEL": "medium", "objections": ["price", "timing"]},
            "qc": {"empathy_score": 8, "compliance_score": 9, "overall_score": 8.5,
                   "remarks": "good rapport, disclosed premium correctly"},
            "transcript": transcript(turns, rnd),
            "summary": "Customer is interested in renewing the motor policy but wants "
                       "to discuss with family; asked for a callback tomorrow after 6 pm "
                       "and for the quote by email.",
            "data_capture": {"customer_name": "Asha Rao", "email": "asha.rao@gmail.com",
                             "preferred_payment": "UPI"},
            "structured_output": {"intent": "callback",
                                  "appointment": {"date": "2026-11-24", "time": "18:30"},
                                  "add_ons": []},
            "trigger_data": {"crm_id": "lead_42", "person_name": "Asha Rao",
                             "list": "renewals-2026-11"},
            "recording_key": "calls/2026/11/c-7f3a-2026-11-23-0001.wav",
            "recording_access_token": "tok_c7f3a20261123",
            "transfer": None,
            "end_call_reason": "customer_hangup", "custom_end_call_reason": None,
            "collected_variables": {"email": {"value": "asha.rao@gmail.com", "collected": True},
                                    "pan": {"value": None, "collected": False}},
            "external_webhook_url": None,
            "skip_post_push": False,
        },
        "bot": {
            "bot_id": "b-12", "timezone": "Asia/Kolkata",
            "analysis_keys": ["DISPOSITION", "SUB_DISPOSITION", "CALLBACK_TIME",
                              "INTEREST_LEVEL"],
            "sip_header_variables": ["X-Customer-Id", "X-Campaign", "X-Lead-Priority"],
            "auto_disposition": {"RNR": {"DISPOSITION": "RNR",
                                         "SUB_DISPOSITION": "Ring no response"}},
            "post_call_push": {
                "url": "http://127.0.0.1:%d/crm" % sinkport, "method": "POST",
                "token": "Bearer bench-token-0123456789", "headers": None,
                "key_mapper": KEY_MAPPER,
            },
            "integrations": [],
        },
    }


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: gen-doc.py SINKPORT [TURNS]")
    turns = int(sys.argv[2]) if len(sys.argv) == 3 else 200
    json.dump(document(int(sys.argv[1]), turns), sys.stdout,
              separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
