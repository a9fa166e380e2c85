/**
 * A minimal PDF writer for tests that need PDFs no fixture should carry: twenty thousand pages
 * in a megabyte or two. A catalog, one flat pages tree, N page objects and a classic xref table;
 * pdf.js reads it as any other PDF.
 *
 * By default every page shows the same tiny content stream (the cheapest page there is);
 * `text` gives each page its own line instead.
 */
export function pdfWithPages(pages: number, options: { text?: (page: number) => string } = {}): Buffer {
  const objects: string[] = [];
  const add = (body: string): number => objects.push(body); // ids start at 1
  const stream = (content: string): string => `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  const line = (text: string): string => `BT /F1 4 Tf 1 4 Td (${text.replace(/[\\()]/g, '\\$&')}) Tj ET`;

  const catalog = add('');
  const tree = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const shared = options.text ? 0 : add(stream(line('.')));
  const kids: string[] = [];
  for (let page = 1; page <= pages; page++) {
    const contents = options.text ? add(stream(line(options.text(page)))) : shared;
    kids.push(`${add(`<< /Type /Page /Parent ${tree} 0 R /Contents ${contents} 0 R >>`)} 0 R`);
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${tree} 0 R >>`;
  // MediaBox and fonts are inherited from the tree, which keeps each page object to a few dozen bytes.
  objects[tree - 1] =
    `<< /Type /Pages /Count ${pages} /MediaBox [0 0 20 10] /Resources << /Font << /F1 ${font} 0 R >> >> /Kids [${kids.join(' ')}] >>`;

  const chunks: string[] = ['%PDF-1.4\n'];
  let length = chunks[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    const chunk = `${i + 1} 0 obj\n${body}\nendobj\n`;
    offsets.push(length);
    chunks.push(chunk);
    length += Buffer.byteLength(chunk, 'latin1');
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  chunks.push(xref, `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${length}\n%%EOF\n`);
  return Buffer.from(chunks.join(''), 'latin1');
}
