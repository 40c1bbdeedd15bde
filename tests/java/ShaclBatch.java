import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;

import org.apache.jena.graph.Graph;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.riot.RDFParser;
import org.apache.jena.riot.lang.LabelToNode;
import org.apache.jena.shacl.ShaclValidator;
import org.apache.jena.shacl.Shapes;
import org.apache.jena.shacl.ValidationReport;

/**
 * Validates many data graphs with Jena SHACL in one JVM (a JVM start costs about a second).
 *
 * Each line on stdin is "shapes-file TAB data-file TAB report-file"; the report is written as
 * N-Triples and the answer is one line on stdout: "ok", or "error " and what went wrong.
 * Blank nodes of the data keep their labels, so results can be matched with another engine's.
 */
public class ShaclBatch {
    public static void main(String[] args) throws Exception {
        Map<String, Shapes> shapes = new HashMap<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank())
                continue;
            String[] files = line.split("\t");
            try {
                Shapes parsed = shapes.get(files[0]);
                if (parsed == null) {
                    parsed = Shapes.parse(RDFParser.source(files[0]).toGraph());
                    shapes.put(files[0], parsed);
                }
                Graph data = RDFParser.source(files[1])
                        .labelToNode(LabelToNode.createUseLabelAsGiven())
                        .toGraph();
                ValidationReport report = ShaclValidator.get().validate(parsed, data);
                try (OutputStream file = Files.newOutputStream(Paths.get(files[2]))) {
                    RDFDataMgr.write(file, report.getGraph(), Lang.NTRIPLES);
                }
                out.println("ok");
            } catch (Exception e) {
                out.println("error " + e.toString().replace('\n', ' '));
            }
        }
    }
}
