// Types of the two CommonJS hash libraries that ship none.
declare module 'apache-md5' {
  /** Apache's MD5 ($apr1$) hash of `password`; with a hash as `salt`, the hash to compare it with. */
  export default function apacheMd5(password: string, salt?: string): string;
}
declare module 'apache-crypt' {
  /** crypt(3) DES hash of `password` with a two-character salt. */
  export default function apacheCrypt(password: string, salt?: string): string;
}
