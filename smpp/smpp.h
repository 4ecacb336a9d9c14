/*
 * smpp.h — the smsfw SMPP 3.4/5.0 codec (public header; the manual).
 *
 * Plain C11, no DPDK, no heap, no mutable static state: every function is
 * safe to call from many lcores at once. Decoding is zero-copy: a decoded PDU
 * holds (pointer, length) views into the caller's buffer, which must outlive
 * the views.
 *
 * Library return codes (enum smpp_status) are never mixed with the SMPP wire
 * command_status (enum smpp_esme).
 *
 * The PDU layouts live in smpp_pdus.def, the TLVs in smpp_tlvs.def, the wire
 * status codes in smpp_status.def; decode, encode, names and the field
 * visitor are all derived from those tables.
 */
#ifndef SMSFW_SMPP_H
#define SMSFW_SMPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Library status                                                           */
/* ------------------------------------------------------------------------ */

/** Return codes of every smpp_ function: 0 OK, SMPP_AGAIN, negative errors. */
enum smpp_status {
	SMPP_OK = 0,
	SMPP_AGAIN = -1,          /**< need more bytes (fewer than 16, or than command_length) */
	SMPP_ECMDLEN_SHORT = -2,  /**< command_length < 16 */
	SMPP_ECMDLEN_LONG = -3,   /**< command_length > the configured maximum */
	SMPP_ECMDID = -4,         /**< command_id not an SMPP 3.4/5.0 PDU */
	SMPP_ETRUNC = -5,         /**< body ends inside a mandatory field */
	SMPP_ECSTR = -6,          /**< C-Octet string has no NUL within its spec maximum / the body */
	SMPP_ESMLEN = -7,         /**< sm_length runs past the body (or > 254) */
	SMPP_ETLVHDR = -8,        /**< 1 to 3 stray octets after the last TLV */
	SMPP_ETLVLEN = -9,        /**< TLV length runs past the PDU */
	SMPP_ETLVSIZE = -10,      /**< a TLV the codec interprets has a length the spec forbids */
	SMPP_ETLVDUP = -11,       /**< a TLV the codec interprets appears twice */
	SMPP_EPAYLOAD = -12,      /**< short_message and message_payload both carry data */
	SMPP_EDESTS = -13,        /**< number_of_dests / no_unsuccess above 254 */
	SMPP_EDESTFLAG = -14,     /**< dest_flag neither 1 (SME address) nor 2 (distribution list) */
	SMPP_ENOSPACE = -15,      /**< output buffer too small */
	SMPP_EINVAL = -16,        /**< invalid argument (field longer than the spec allows, ...) */
	SMPP_ETOOBIG = -17,       /**< framer: PDU larger than the framer's bound */
	SMPP_EUDH = -18,          /**< UDH length or an IE length runs past the user data */
	SMPP_ETEXT = -19,         /**< encoder: character not representable in the target alphabet */
	SMPP_EBINARY = -20,       /**< data_coding is not a text encoding this codec decodes */
	SMPP_EUTF8 = -21,         /**< encoder: input is not valid UTF-8 */
};

/** Human-readable text for an enum smpp_status value; never NULL. */
const char *smpp_strerror(int status);

/* ------------------------------------------------------------------------ */
/* Wire constants                                                           */
/* ------------------------------------------------------------------------ */

#define SMPP_HDR_LEN 16u
#define SMPP_DEFAULT_MAX_PDU 65536u   /**< default command_length bound */
#define SMPP_MAX_DESTS 254u           /**< submit_multi destinations (3.4 §4.5.1) */
#define SMPP_MAX_SM 254u              /**< short_message octets */
#define SMPP_CMD_RESP_BIT 0x80000000u
#define SMPP_ESM_UDHI 0x40u           /**< esm_class: user data starts with a UDH */
#define SMPP_VERSION_34 0x34u
#define SMPP_VERSION_50 0x50u

/** SMPP command ids: SMPP_CMD_SUBMIT_SM, SMPP_CMD_SUBMIT_SM_RESP, ... */
/* Values above INT_MAX: a GNU C extension (the project builds with gnu11). */
enum smpp_cmd {
#define SMPP_PDU(UP, lo, id, fields) SMPP_CMD_##UP = id,
#include "smpp_pdus.def"
#undef SMPP_PDU
};

/** Wire command_status values: SMPP_ESME_ROK, SMPP_ESME_RSUBMITFAIL, ... */
enum smpp_esme {
#define SMPP_ESME(UP, val, text) SMPP_ESME_##UP = val,
#include "smpp_status.def"
#undef SMPP_ESME
};

/** TLV tags: SMPP_TLV_MESSAGE_PAYLOAD, SMPP_TLV_SAR_MSG_REF_NUM, ... */
enum smpp_tlv_tag {
#define SMPP_TLV(UP, lo, tag, min, max) SMPP_TLV_##UP = tag,
#include "smpp_tlvs.def"
#undef SMPP_TLV
};

/** PDU name ("submit_sm"), or NULL for an unknown command_id. */
const char *smpp_cmd_name(uint32_t command_id);
/** TLV name ("message_payload"), or NULL for a tag outside 3.4/5.0. */
const char *smpp_tlv_name(uint16_t tag);
/** Wire status name ("ESME_RTHROTTLED"), or NULL for an unlisted value. */
const char *smpp_esme_name(uint32_t command_status);
/** True when command_id is one of the PDUs in smpp_pdus.def. */
bool smpp_cmd_known(uint32_t command_id);

/* ------------------------------------------------------------------------ */
/* Views, header                                                            */
/* ------------------------------------------------------------------------ */

/** A byte range in the caller's buffer (C-Octet strings: without the NUL). */
struct smpp_view {
	const uint8_t *p;
	uint32_t len;
};

struct smpp_hdr {
	uint32_t command_length;
	uint32_t command_id;
	uint32_t command_status;
	uint32_t sequence_number;
};

/**
 * Read and check the 16-octet header at @p p.
 * @param max_pdu upper bound for command_length; 0 means SMPP_DEFAULT_MAX_PDU.
 * @return SMPP_OK (@p out filled), SMPP_AGAIN (len < 16),
 *         SMPP_ECMDLEN_SHORT, SMPP_ECMDLEN_LONG, SMPP_ECMDID.
 * Reads at most 16 octets; used to cut PDUs from a stream and to resynchronise.
 */
int smpp_hdr_peek(const uint8_t *p, size_t len, uint32_t max_pdu, struct smpp_hdr *out);

/* ------------------------------------------------------------------------ */
/* Decoded PDU                                                              */
/* ------------------------------------------------------------------------ */

/** SAR TLVs (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum). */
struct smpp_sar {
	uint16_t ref;
	uint8_t total;
	uint8_t seq;
	bool present;  /**< all three TLVs were present */
};

/**
 * One decoded PDU: a flat superset of the SMPP mandatory fields; a field
 * that the PDU type does not carry stays zero / empty. Field names are the
 * spec's. Views point into the decoded buffer.
 */
struct smpp_pdu {
	struct smpp_hdr hdr;
	/* C-Octet strings */
	struct smpp_view system_id, password, system_type, address_range;
	struct smpp_view service_type, source_addr, destination_addr;
	struct smpp_view schedule_delivery_time, validity_period;
	struct smpp_view message_id, final_date, esme_addr;
	/* octet string */
	struct smpp_view short_message;
	/* submit_multi dest_address list and submit_multi_resp unsuccess_sme
	 * list, raw and already validated: walk with smpp_dest_next /
	 * smpp_unsuccess_next */
	struct smpp_view dests, unsuccess;
	/* all TLVs after the mandatory part, validated: smpp_tlv_next/find */
	struct smpp_view tlvs;
	/* derived from tlvs: message_payload value and the SAR TLVs */
	struct smpp_view message_payload;
	struct smpp_sar sar;
	uint16_t n_tlvs;
	bool has_message_payload;
	bool body_absent;   /**< a response sent with no body (status != 0) */
	/* one-octet integers */
	uint8_t interface_version, addr_ton, addr_npi;
	uint8_t source_addr_ton, source_addr_npi, dest_addr_ton, dest_addr_npi;
	uint8_t esm_class, protocol_id, priority_flag, registered_delivery;
	uint8_t replace_if_present_flag, data_coding, sm_default_msg_id, sm_length;
	uint8_t message_state, error_code, esme_addr_ton, esme_addr_npi;
	uint8_t number_of_dests, no_unsuccess;
};

/** Decoder options; a NULL pointer means all defaults. */
struct smpp_decode_opts {
	uint32_t max_pdu;   /**< command_length bound; 0 = SMPP_DEFAULT_MAX_PDU */
	uint32_t flags;     /**< SMPP_DEC_* */
};
/** Accept C-Octet strings longer than the spec maximum (still bounded by the
 * PDU); submit_multi list entries stay strict. */
#define SMPP_DEC_RELAX_CSTR_MAX 0x1u

/**
 * Decode the PDU that starts at @p p. Only command_length octets are read;
 * bytes after it are ignored (the next PDU of a stream).
 * Validates every mandatory field, the dest/unsuccess lists and the TLV
 * framing, so the iterators below cannot fail on a decoded PDU.
 * message_payload with a non-empty short_message is refused (3.4 §5.3.2.32);
 * a second message_payload or SAR TLV is refused.
 * A response with a non-zero command_status may omit its mandatory body
 * (3.4 §4.4.2), with or without TLVs after the header: when the body does
 * not decode as mandatory fields but does as TLVs alone, that reading is
 * taken and body_absent is set.
 * @return SMPP_OK, SMPP_AGAIN (len < command_length), or any of
 *   SMPP_ECMDLEN_SHORT, SMPP_ECMDLEN_LONG, SMPP_ECMDID, SMPP_ETRUNC,
 *   SMPP_ECSTR, SMPP_ESMLEN, SMPP_EDESTS, SMPP_EDESTFLAG, SMPP_ETLVHDR,
 *   SMPP_ETLVLEN, SMPP_ETLVSIZE, SMPP_ETLVDUP, SMPP_EPAYLOAD.
 * On error @p out is partly filled (hdr is valid from SMPP_ETRUNC onward).
 */
int smpp_pdu_decode(const uint8_t *p, size_t len, const struct smpp_decode_opts *opts,
		    struct smpp_pdu *out);

/* ------------------------------------------------------------------------ */
/* TLVs                                                                     */
/* ------------------------------------------------------------------------ */

struct smpp_tlv {
	uint16_t tag;
	uint16_t len;
	const uint8_t *val;
};

struct smpp_tlv_iter {
	const uint8_t *p, *end;
};

/** Start iterating the TLVs of a decoded PDU. */
void smpp_tlv_iter_init(struct smpp_tlv_iter *it, const struct smpp_pdu *pdu);
/** Next TLV in wire order; false at the end (or on a malformed region). */
bool smpp_tlv_next(struct smpp_tlv_iter *it, struct smpp_tlv *out);
/** First TLV with @p tag; false when absent. */
bool smpp_tlv_find(const struct smpp_pdu *pdu, uint16_t tag, struct smpp_tlv *out);

/**
 * Append one TLV to @p buf at *@p off (for building pdu.tlvs before encoding).
 * @return SMPP_OK (*off advanced) or SMPP_ENOSPACE.
 */
int smpp_tlv_put(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const void *val,
		 uint16_t len);

/* ------------------------------------------------------------------------ */
/* submit_multi lists                                                       */
/* ------------------------------------------------------------------------ */

#define SMPP_DEST_SME 1u   /**< dest_flag: SME address */
#define SMPP_DEST_DL 2u    /**< dest_flag: distribution list name */

/** One dest_address of submit_multi. For DL entries only dl_name is set. */
struct smpp_dest {
	uint8_t dest_flag;
	uint8_t dest_addr_ton, dest_addr_npi;
	struct smpp_view destination_addr;  /**< SME address (dest_flag 1) */
	struct smpp_view dl_name;           /**< distribution list (dest_flag 2) */
};

/** One unsuccess_sme of submit_multi_resp. */
struct smpp_unsuccess {
	uint8_t dest_addr_ton, dest_addr_npi;
	struct smpp_view destination_addr;
	uint32_t error_status_code;
};

struct smpp_list_iter {
	const uint8_t *p, *end;
};

/** Iterate pdu->dests; false at the end. */
void smpp_dest_iter_init(struct smpp_list_iter *it, const struct smpp_pdu *pdu);
bool smpp_dest_next(struct smpp_list_iter *it, struct smpp_dest *out);
/** Iterate pdu->unsuccess; false at the end. */
void smpp_unsuccess_iter_init(struct smpp_list_iter *it, const struct smpp_pdu *pdu);
bool smpp_unsuccess_next(struct smpp_list_iter *it, struct smpp_unsuccess *out);

/* ------------------------------------------------------------------------ */
/* Field visitor (dump, JSON) — derived from smpp_pdus.def                  */
/* ------------------------------------------------------------------------ */

enum smpp_field_kind {
	SMPP_FIELD_U8,      /**< u8 */
	SMPP_FIELD_CSTR,    /**< v (without NUL) */
	SMPP_FIELD_SM,      /**< v = short_message, u8 = sm_length */
	SMPP_FIELD_DESTS,   /**< u8 = number_of_dests; walk with smpp_dest_next */
	SMPP_FIELD_UNSUCC,  /**< u8 = no_unsuccess; walk with smpp_unsuccess_next */
};

struct smpp_field {
	const char *name;   /**< SMPP 3.4 field name */
	enum smpp_field_kind kind;
	uint8_t u8;
	struct smpp_view v;
};

/**
 * Call @p fn for each mandatory field of @p pdu's command in wire order.
 * Nothing is called for a body_absent response.
 * @return SMPP_OK or SMPP_ECMDID.
 */
int smpp_pdu_visit(const struct smpp_pdu *pdu,
		   void (*fn)(void *ctx, const struct smpp_field *f), void *ctx);

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Encode any PDU from @p pdu: header (command_length computed, the rest from
 * pdu->hdr), the mandatory fields of pdu->hdr.command_id, then pdu->tlvs
 * copied verbatim (build it with smpp_tlv_put). sm_length is taken from
 * short_message.len; number_of_dests / no_unsuccess and the list bytes from
 * pdu->dests / pdu->unsuccess (build them with smpp_dest_put /
 * smpp_unsuccess_put). Derived fields (message_payload, sar) are ignored.
 * If body_absent is set, only the header and the TLVs are written.
 * @return SMPP_OK (*out_len = octets written), SMPP_ECMDID, SMPP_EINVAL
 *   (a string over its spec maximum, or containing NUL, short_message > 254),
 *   SMPP_ENOSPACE.
 */
int smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap, size_t *out_len);

/** Append one dest_address to a list buffer; bumps *count. SMPP_OK, SMPP_EINVAL, SMPP_ENOSPACE. */
int smpp_dest_put(uint8_t *buf, size_t cap, size_t *off, uint8_t *count,
		  const struct smpp_dest *d);
/** Append one unsuccess_sme to a list buffer; bumps *count. SMPP_OK, SMPP_EINVAL, SMPP_ENOSPACE. */
int smpp_unsuccess_put(uint8_t *buf, size_t cap, size_t *off, uint8_t *count,
		       const struct smpp_unsuccess *u);

/*
 * Responses the firewall sends. Each returns SMPP_OK with *out_len set,
 * SMPP_EINVAL (bad argument) or SMPP_ENOSPACE. SMPP_RESP_MAX octets always
 * suffice for the fixed-size ones (all but submit_multi_resp and TLV text).
 *
 * With a non-zero status the mandatory body is omitted (SMPP 3.4 §4.4.2 and
 * friends; node-smpp and libsmpp34 both expect that, libsmpp34 refuses a
 * body): only the header and any TLVs given are sent. smpp_pdu_decode reads
 * such PDUs back with body_absent set.
 */
#define SMPP_RESP_MAX 96u

/**
 * submit_sm_resp, deliver_sm_resp, data_sm_resp (and broadcast_sm_resp):
 * the response to @p req_cmd (the request's command_id), with message_id
 * (an empty view gives an empty C-Octet string) and optional raw TLVs
 * (data_sm_resp, e.g. additional_status_info_text; may be empty).
 */
int smpp_encode_msgid_resp(uint32_t req_cmd, uint32_t seq, uint32_t status,
			   struct smpp_view message_id, struct smpp_view tlvs,
			   uint8_t *out, size_t cap, size_t *out_len);

/** submit_multi_resp with @p n unsuccess_sme entries (n <= 254). */
int smpp_encode_submit_multi_resp(uint32_t seq, uint32_t status, struct smpp_view message_id,
				  const struct smpp_unsuccess *list, unsigned n,
				  uint8_t *out, size_t cap, size_t *out_len);

/** Optional TLVs of a bind_*_resp. */
struct smpp_bind_resp_opts {
	uint8_t sc_interface_version;  /**< 0: TLV omitted; else 0x34 / 0x50 */
	struct smpp_view additional_status_info_text;  /**< empty: omitted; <= 255 octets */
};

/**
 * bind_receiver_resp / bind_transmitter_resp / bind_transceiver_resp for
 * the bind request @p req_cmd. @p opts may be NULL.
 */
int smpp_encode_bind_resp(uint32_t req_cmd, uint32_t seq, uint32_t status,
			  struct smpp_view system_id, const struct smpp_bind_resp_opts *opts,
			  uint8_t *out, size_t cap, size_t *out_len);

/**
 * A header-only PDU: generic_nack, unbind, unbind_resp, enquire_link,
 * enquire_link_resp (also cancel_sm_resp, replace_sm_resp).
 * @return SMPP_OK, SMPP_EINVAL (command carries a body), SMPP_ENOSPACE.
 */
int smpp_encode_empty(uint32_t command_id, uint32_t seq, uint32_t status,
		      uint8_t *out, size_t cap, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Stream framer (tools; the dataplane cuts with smpp_hdr_peek itself)      */
/* ------------------------------------------------------------------------ */

/** Incremental framer over a caller-provided bounded buffer. */
struct smpp_framer {
	uint8_t *buf;
	uint32_t cap;      /**< buffer size */
	uint32_t bound;    /**< largest PDU accepted: min(cap, max_pdu) */
	uint32_t head;     /**< first unconsumed octet */
	uint32_t tail;     /**< end of buffered octets */
	int err;           /**< sticky error, 0 when healthy */
};

/**
 * Initialise @p f over @p buf (@p cap >= 16). @p max_pdu 0 means
 * SMPP_DEFAULT_MAX_PDU. @return SMPP_OK or SMPP_EINVAL.
 */
int smpp_framer_init(struct smpp_framer *f, uint8_t *buf, size_t cap, uint32_t max_pdu);

/**
 * Append up to @p n octets. @return how many were taken (fewer than @p n
 * when the buffer is full: pop, then push the rest); 0 after an error.
 */
size_t smpp_framer_push(struct smpp_framer *f, const uint8_t *p, size_t n);

/**
 * Take the next complete PDU. @p pdu views the framer's buffer and stays
 * valid until the next push.
 * @return SMPP_OK, SMPP_AGAIN, or a sticky error: SMPP_ECMDLEN_SHORT,
 *   SMPP_ECMDID, SMPP_ETOOBIG (command_length above the bound). After an
 *   error, smpp_framer_resync() skips to the next plausible header.
 */
int smpp_framer_pop(struct smpp_framer *f, struct smpp_view *pdu);

/**
 * Clear the error and drop octets until a plausible header (smpp_hdr_peek
 * OK within the bound) starts the buffer, or fewer than 16 octets remain.
 * @return number of octets dropped.
 */
size_t smpp_framer_resync(struct smpp_framer *f);

/** Octets buffered and not yet popped. */
size_t smpp_framer_pending(const struct smpp_framer *f);

/* ------------------------------------------------------------------------ */
/* UDH and concatenation                                                    */
/* ------------------------------------------------------------------------ */

/** Concatenation info, from a UDH (IEI 0x00 / 0x08) or the SAR TLVs. */
struct smpp_concat {
	uint16_t ref;
	uint8_t total;
	uint8_t seq;
	bool present;
	bool ref16;      /**< 16-bit reference (IEI 0x08 or SAR) */
	bool from_sar;   /**< from sar_* TLVs rather than a UDH */
};

struct smpp_udh_ie {
	uint8_t iei;
	uint8_t len;
	const uint8_t *data;
};

/**
 * Parsed UDH. Of repeated concatenation IEs (8- or 16-bit) the last valid
 * one counts, and of port IEs (8- or 16-bit) the last one, as 23.040
 * §9.2.3.24 says and handsets do.
 */
struct smpp_udh {
	uint32_t len;                /**< UDH octets including the UDHL octet */
	uint32_t n_ie;
	struct smpp_concat concat;
	bool has_ports;
	bool ports16;                /**< IEI 0x05 (16-bit) rather than 0x04 */
	uint16_t dst_port, src_port;
};

/**
 * Parse the UDH at the start of @p ud (user data with UDHI set). A
 * concatenation IE with a total of 0, or a sequence number of 0 or above the
 * total, is ignored as 23.040 §9.2.3.24.1 says (counted in n_ie, not in concat).
 * @return SMPP_OK; SMPP_EUDH when the UDHL runs past the user data (out->len
 *   is 0, nothing filled in) or an IE runs past the header (out->len and the
 *   IEs before that one are filled in, as a handset reads them).
 */
int smpp_udh_parse(const uint8_t *ud, size_t len, struct smpp_udh *out);

/** Iterate the IEs of a UDH already accepted by smpp_udh_parse. */
struct smpp_udh_iter {
	const uint8_t *p, *end;
};
void smpp_udh_iter_init(struct smpp_udh_iter *it, const uint8_t *ud, size_t len);
bool smpp_udh_next(struct smpp_udh_iter *it, struct smpp_udh_ie *out);

/**
 * The message's user data: message_payload when present, else short_message.
 */
struct smpp_view smpp_pdu_user_data(const struct smpp_pdu *pdu);

/**
 * Concatenation info of a decoded PDU: the UDH when esm_class has UDHI
 * (0x40) and it carries a valid IEI 0x00/0x08 (before any IE that runs past
 * the header), else the SAR TLVs; out->present is false for a single-part
 * message, and for SAR values a handset would not join (total 0, segment 0
 * or above the total), as for the UDH.
 * @return SMPP_OK or SMPP_EUDH (UDHI set and the UDHL runs past the user data).
 */
int smpp_pdu_concat(const struct smpp_pdu *pdu, struct smpp_concat *out);

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

enum smpp_charset {
	SMPP_CS_GSM7,    /**< GSM 03.38 default alphabet + extension table */
	SMPP_CS_IA5,     /**< IA5 / ASCII */
	SMPP_CS_LATIN1,  /**< ISO-8859-1 */
	SMPP_CS_UCS2,    /**< UCS-2 / UTF-16BE with surrogate pairs */
	/** ISO-8859-5 (Latin/Cyrillic), data_coding 6: 0xA0-0xFF by the
	 *  standard's code chart (every code assigned) */
	SMPP_CS_ISO8859_5,
	/** ISO-8859-8 (Latin/Hebrew), data_coding 7: 0xA0-0xFF by the
	 *  standard's code chart; its unassigned codes (0xA1, 0xBF-0xDE, 0xFB,
	 *  0xFC, 0xFF) decode as U+FFFD. Text is kept in storage order. */
	SMPP_CS_ISO8859_8,
	SMPP_CS_BINARY,  /**< not decoded */
};

/**
 * The character set of a data_coding value: 0 GSM, 1 IA5, 3 Latin-1,
 * 6 ISO-8859-5, 7 ISO-8859-8, 8 UCS-2; the 23.038 groups 0x10-0x1F (general, uncompressed), 0x40-0x5F
 * (automatic deletion, uncompressed), 0xC0-0xEF (message waiting) and
 * 0xF0-0xFF (message class) map to GSM / UCS-2 by their alphabet bits;
 * everything else is binary.
 */
enum smpp_charset smpp_charset_of(uint8_t data_coding);

/** Worst-case UTF-8 octets for @p n input octets, plus room for a NUL. */
#define SMPP_TEXT_UTF8_MAX(n) ((size_t)(n) * 4u + 8u)

#define SMPP_TEXT_GSM_PACKED 0x1u  /**< data_coding 0 text is packed 7-bit */

struct smpp_text_info {
	size_t out_len;        /**< UTF-8 octets written (no NUL is written) */
	uint32_t chars;        /**< characters decoded */
	uint32_t replaced;     /**< invalid units replaced by U+FFFD */
	enum smpp_charset charset;
};

/**
 * Decode user data @p ud to UTF-8. @p udh_len octets at the start are a UDH
 * and skipped (for packed GSM the septets start after the fill bits that
 * align the UDH to a septet boundary). Packed GSM: a final zero septet that
 * only fills the last octet is dropped.
 * GSM: unknown extension codes decode as their base-table character
 * (3GPP 23.038 §6.2.1.1); a trailing lone escape is replaced and counted.
 * IA5: octets >= 0x80 are replaced. Latin-1, ISO-8859-5, ISO-8859-8:
 * 0x80-0x9F are the C1 controls U+0080-U+009F; ISO-8859-8's unassigned
 * codes are replaced. UCS-2: lone surrogates and an odd final
 * octet are replaced. Output is written only up to @p cap.
 * @return SMPP_OK, SMPP_EBINARY (charset binary; nothing written),
 *   SMPP_EUDH (udh_len > len), SMPP_ENOSPACE (output truncated at a
 *   character boundary; info->out_len tells how much was written).
 */
int smpp_text_decode(enum smpp_charset cs, const uint8_t *ud, size_t len, size_t udh_len,
		     uint32_t flags, uint8_t *out, size_t cap, struct smpp_text_info *info);

/**
 * Decode a PDU's message text (short_message or message_payload) to UTF-8,
 * skipping the UDH when esm_class has UDHI: UDHL + 1 octets, as handsets do,
 * even when an IE inside the header is malformed (smpp_udh_parse refuses
 * such a header; its text is still decoded). @p flags: SMPP_TEXT_GSM_PACKED.
 * @return as smpp_text_decode, plus SMPP_EUDH when UDHI is set and the
 *   user data is empty or its UDHL runs past it (no text decoded).
 */
int smpp_pdu_text(const struct smpp_pdu *pdu, uint32_t flags, uint8_t *out, size_t cap,
		  struct smpp_text_info *info);

#define SMPP_TEXT_REPLACE 0x2u  /**< encoders: unrepresentable characters become '?' */

/**
 * UTF-8 → GSM 7-bit septets, one per octet (unpacked), extension characters
 * as ESC + code. With SMPP_TEXT_GSM_PACKED in @p flags the septets are
 * packed, starting after @p udh_len octets of header already in @p out
 * (fill bits inserted). *@p septets receives the septet count (excluding the
 * UDH), *@p out_len the octets written after the UDH.
 * @return SMPP_OK, SMPP_EUTF8, SMPP_ETEXT (without SMPP_TEXT_REPLACE),
 *   SMPP_ENOSPACE.
 */
int smpp_text_encode_gsm7(const uint8_t *utf8, size_t len, uint32_t flags, size_t udh_len,
			  uint8_t *out, size_t cap, size_t *out_len, size_t *septets);

/**
 * UTF-8 → UCS-2/UTF-16BE (characters outside the BMP as surrogate pairs).
 * @return SMPP_OK, SMPP_EUTF8, SMPP_ENOSPACE.
 */
int smpp_text_encode_ucs2(const uint8_t *utf8, size_t len, uint8_t *out, size_t cap,
			  size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* SMSFW_SMPP_H */
