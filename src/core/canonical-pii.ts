import ipaddr from 'ipaddr.js';

export type PiiField = 'ip' | 'device_id';
export const PII_FIELDS: readonly PiiField[] = ['ip', 'device_id'];

export interface CanonicalValue {
  value: string;
  /** False when the value is not an IP address: it is still tokenized, as the trimmed string. */
  isIp: boolean;
}

/**
 * One spelling per address, so that one address always gives one token: IPv4 in four decimal parts, an
 * IPv4-mapped IPv6 address as its IPv4, other IPv6 in RFC 5952 form (lower case, zeros compressed).
 * Shorthand IPv4 forms (`127.1`, `0x7f.0.0.1`, `010.0.0.1`) are read differently by different parsers, so they
 * are not taken as addresses.
 */
export function canonicalIp(raw: string): CanonicalValue {
  const value = raw.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return { value: ipaddr.IPv4.parse(value).toString(), isIp: true };
  if (ipaddr.IPv6.isValid(value)) {
    const address = ipaddr.IPv6.parse(value);
    return {
      value: address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toRFC5952String(),
      isIp: true,
    };
  }
  return { value, isIp: false };
}

export function canonicalDeviceId(raw: string): string {
  return raw.trim();
}

export function canonicalValue(field: PiiField, raw: string): string {
  return field === 'ip' ? canonicalIp(raw).value : canonicalDeviceId(raw);
}
