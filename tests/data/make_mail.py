"""Writes the MIME fixtures in this folder: `python3 tests/data/make_mail.py` from the project root.
The .eml files are committed; this script shows how each was made (real MIME, each charset)."""
import base64, quopri
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

D = "tests/data/"

def save(name, msg):
    open(D + name, "wb").write(msg.as_bytes() if hasattr(msg, "as_bytes") else msg)

def text_msg(body, charset, cte, subject, subj_cs, from_name, addr, mid, **headers):
    m = MIMEText(body, "plain", charset)
    if cte == "qp":
        del m["Content-Transfer-Encoding"]
        m.set_payload(quopri.encodestring(body.encode(charset if charset not in ("gb2312",) else "gb18030")).decode())
        m["Content-Transfer-Encoding"] = "quoted-printable"
    m["Subject"] = Header(subject, subj_cs)
    m["From"] = formataddr((str(Header(from_name, subj_cs)), addr))
    m["To"] = "service@example.com"
    m["Message-ID"] = mid
    m["Date"] = "Sun, 22 Nov 2026 10:30:00 +0800"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    return m

# UTF-8, base64 body, Chinese subject
save("utf8_base64.eml", text_msg("您好，我家的热水器漏水了，地上都是水，请尽快安排师傅上门。\n电话 13912345678\n", "utf-8", "b64",
     "热水器漏水", "utf-8", "李娜", "Li.Na@Example.COM", "<utf8-0001@mail.example.com>"))
# GB2312 label but GBK-only characters (镕 is not in GB2312), quoted-printable
body = quopri.encodestring("空调不制冷，开了一下午还是热。朱镕基路88号。\n".encode("gbk")).decode()
subj = "=?GB2312?B?" + base64.b64encode("空调不制冷".encode("gbk")).decode() + "?="
name = "=?GB2312?B?" + base64.b64encode("王芳".encode("gbk")).decode() + "?="
raw = (f"From: {name} <wangfang@example.cn>\r\nTo: service@example.com\r\nSubject: {subj}\r\n"
       "Message-ID: <gbk-0002@mail.example.cn>\r\nDate: Sun, 22 Nov 2026 10:30:00 +0800\r\nMIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=\"gb2312\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + body)
save("gbk_labelled_gb2312_qp.eml", raw.encode("ascii"))
# GB18030
save("gb18030.eml", text_msg("洗碗机无法开机，按键没反应。\n", "gb18030", "b64",
     "洗碗机无法开机", "gb18030", "赵磊", "zhaolei@example.cn", "<gb18030-0003@mail.example.cn>"))
# Big5 (traditional Chinese)
save("big5_traditional.eml", text_msg("熱水器無法開機，請派師傅來看看。\n", "big5", "b64",
     "熱水器無法開機", "big5", "陳美玲", "chen.meiling@example.com.tw", "<big5-0004@mail.example.tw>"))
# HTML only
m = MIMEText("<html><head><style>p{color:red}</style></head><body><p>油烟机<b>异响</b>很大，</p><p>请问怎么处理？</p><script>alert(1)</script></body></html>", "html", "utf-8")
m["Subject"] = Header("油烟机异响", "utf-8"); m["From"] = "sunqiang@example.com"; m["To"] = "service@example.com"
m["Message-ID"] = "<html-0005@mail.example.com>"
save("html_only.eml", m)
# With attachments: a small photo and one too large for a 1 KB limit
m = MIMEMultipart()
m.attach(MIMEText("净水器漏水，照片见附件。\n", "plain", "utf-8"))
img = MIMEApplication(b"\x89PNG\r\n\x1a\n" + b"0" * 600, "png", Name="漏水照片.png")
img.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "漏水照片.png"))
m.attach(img)
big = MIMEApplication(b"%PDF-1.4\n" + b"x" * 4000, "pdf")
big.add_header("Content-Disposition", "attachment", filename="invoice.pdf")
m.attach(big)
m["Subject"] = Header("净水器漏水（附照片）", "utf-8"); m["From"] = "zhouyu@example.com"; m["To"] = "service@example.com"
m["Message-ID"] = "<attach-0006@mail.example.com>"
save("with_attachments.eml", m)
# English
save("english.eml", text_msg("Hello,\n\nMy water heater won't turn on since this morning. Model F80-D30.\n\nThanks,\nTom\n", "us-ascii", "7bit",
     "Water heater won't turn on", "us-ascii", "Tom Baker", "tom.baker@example.org", "<en-0007@mail.example.org>"))
# Auto-reply (RFC 3834)
save("auto_reply.eml", text_msg("我正在休假，11月30日返回。\n", "utf-8", "b64", "自动回复: 热水器漏水", "utf-8", "李娜",
     "li.na@example.com", "<auto-0008@mail.example.com>", Auto_Submitted="auto-replied"))
# Delivery status notification (RFC 3464)
raw = ("From: MAILER-DAEMON@mx.example.com\r\nTo: service@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
       "Message-ID: <bounce-0009@mx.example.com>\r\nMIME-Version: 1.0\r\n"
       "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n"
       "--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is the mail system at host mx.example.com.\r\n"
       "Your message could not be delivered.\r\n--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
       "Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; nobody@example.com\r\nAction: failed\r\n"
       "Status: 5.1.1\r\n--B1--\r\n")
save("bounce_dsn.eml", raw.encode())
# Forwarded by a dealer
save("forwarded.eml", text_msg("请帮忙处理一下这个客户的问题。\n\n---------- Forwarded message ---------\nFrom: 钱女士 <qian@example.com>\nDate: 2026年11月21日\nSubject: 燃气热水器有煤气味\n\n燃气热水器开机后有很重的煤气味，不敢用了。\n", "utf-8", "qp",
     "Fwd: 燃气热水器有煤气味", "utf-8", "经销商 刘经理", "dealer.liu@example.com", "<fwd-0010@mail.example.com>"))
# A reply in a Chinese mail client, quoting the original; threads by In-Reply-To
save("reply_quoted.eml", text_msg("师傅还没来，今天下午家里有人，请安排。\n\n李娜 <li.na@example.com> 于2026年11月22日周日 上午10:30写道：\n> 您好，我家的热水器漏水了，地上都是水，请尽快安排师傅上门。\n> 电话 13912345678\n", "utf-8", "qp",
     "回复: 热水器漏水", "utf-8", "李娜", "li.na@example.com", "<reply-0011@mail.example.com>",
     In_Reply_To="<utf8-0001@mail.example.com>", References="<utf8-0001@mail.example.com>"))
# A reply that names the ticket in its subject (placeholder NUMBER is replaced by the test), Outlook style quote
save("reply_by_number.eml", text_msg("Photos attached yesterday; any update?\n\n-----Original Message-----\nFrom: Service <service@example.com>\nSent: Sunday\n\nWe received your request.\n", "utf-8", "qp",
     "RE: [NUMBER] Water heater won't turn on", "utf-8", "Tom Baker", "tom.baker@example.org", "<reply-0012@mail.example.org>"))
